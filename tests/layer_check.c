/* SPDX-License-Identifier: MIT */
/* Linked with one layer whole and the layers below it (tests/meson.build):
 * that the link succeeds is the check. */
int
main(void)
{
   return 0;
}
