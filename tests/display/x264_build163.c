/* SPDX-License-Identifier: MIT */
/* A stand-in for a libx264 of build 163, whose x264_param_t is laid out
 * unlike the builds the server uses (164 and 165): test_display_encoder
 * puts it under their sonames, and the server must refuse it by its
 * versioned x264_encoder_open_<build> alone, without calling anything. */
void *x264_encoder_open_163(void *param);

void *
x264_encoder_open_163(void *param)
{
   (void)param;
   return 0;
}
