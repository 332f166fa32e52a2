/* SPDX-License-Identifier: MIT */
/* xdg_wm_base v1 for the Wayland servers of this repository (the host's
 * display, and vs-guest-present in a VM guest): toplevels and popups take
 * every request and ignore it (a window is shown as it is drawn, nothing
 * is managed); a toplevel is configured at the size the server says (0x0:
 * the client chooses) when it is made and again on
 * vs_xdg_shell_configure_all. */
#ifndef VS_COMPOSITOR_XDG_SHELL_H
#define VS_COMPOSITOR_XDG_SHELL_H

#include <stdbool.h>
#include <stdint.h>

struct wl_display;
struct vs_xdg_shell;

struct vs_xdg_shell_config {
   /* The size a toplevel is configured at; NULL: 0x0. */
   void (*size)(void *data, uint32_t *width, uint32_t *height);
   void *data;
};

/* Creates the xdg_wm_base global; NULL when it cannot. */
struct vs_xdg_shell *vs_xdg_shell_create(struct wl_display *display, const struct vs_xdg_shell_config *config);
/* Configures every toplevel again (the size changed). */
void vs_xdg_shell_configure_all(struct vs_xdg_shell *shell);
/* After wl_display_destroy (its clients' toplevels are in the shell's
 * list until then). */
void vs_xdg_shell_free(struct vs_xdg_shell *shell);

#endif
