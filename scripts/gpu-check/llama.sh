# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "llama" of scripts/gpu-check.sh (sourced after the set-up):
#   llama            bench/llama.sh with sid's llama.cpp (needs
#                    BUNDLE/../gpu-llama/llama.tar.xz from scripts/gpu-bundle.sh
#                    with LLAMA=1, or LLAMA_TAR, and BUNDLE/guest26; SKIP
#                    without them) and the Mesa 26 guest: test-backend-ops -o
#                    MUL_MAT natively and through the server (same pass
#                    count), llama-bench -p 512 -n 128 on random-weight models
#                    of each LLAMA_SHAPES (default "7b 1b": Llama-2-7B's and
#                    TinyLlama-1.1B's shapes, q4_0), with ggml's cooperative
#                    matrices, KHR only and none, natively and through the
#                    server, as a table; where a generated token's time goes
#                    through the server (--submit-stats). LLAMA_P, LLAMA_N,
#                    LLAMA_PARAMS... as in bench/llama.sh.

# --- llama.cpp's Vulkan backend (bench/llama.sh) ------------------------------------
ltar=${LLAMA_TAR:-$bundle/../gpu-llama/llama.tar.xz}
g26=$bundle/guest26
if [ ! -f "$ltar" ] || [ ! -x "$g26/lib/ld-linux-x86-64.so.2" ]; then
  result llama SKIP "no $ltar (scripts/gpu-bundle.sh with LLAMA=1) or no guest26 in the bundle"
else
  tar -C "$prefix" -xJf "$ltar"
  ll=$prefix/llama
  sed "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"$g26/lib/libvulkan_virtio.so\"#" \
    "$prefix/usr/share/vulkan/icd.d/virtio_icd.json" >"$prefix/virtio26_icd.json"
  # sid's programs on sid's ld-linux (ggml finds its backends beside it);
  # the Mesa 26 guest's libraries after llama's own.
  llama_bench=("$ll/lib/ld-linux-x86-64.so.2" --library-path "$ll/lib:$g26/lib" "$ll/bin/llama-bench")
  llama_tbo=("$ll/lib/ld-linux-x86-64.so.2" --library-path "$ll/lib:$g26/lib" "$ll/bin/test-backend-ops")
  # shellcheck source=SCRIPTDIR/../../bench/llama.sh
  . "$top/bench/llama.sh"
  lrc=0 skip_ops=${LLAMA_SKIP_OPS:-0}
  for shape in ${LLAMA_SHAPES:-7b 1b}; do
    llama_model_host=$prefix/llama-$shape.gguf llama_model=$prefix/llama-$shape.gguf
    # test-backend-ops with the first shape only; the Mesa 26 guest's ICD on the client side.
    VIRTIO_ICD=$prefix/virtio26_icd.json LLAMA_SHAPE=$shape LLAMA_SKIP_OPS=$skip_ops llama_main \
      >"$logs/llama-$shape.txt" 2>&1 || lrc=1
    skip_ops=1
    cat "$logs/llama-$shape.txt"
    rm -f "$llama_model_host"
  done
  result llama "$([ $lrc -eq 0 ] && echo PASS || echo FAIL)" \
    "$(grep -ho 'test-backend-ops.*passed' "$logs"/llama-*.txt | head -n1); $(grep -h '^   | default |' "$logs"/llama-*.txt | tr -s ' ' | tr '\n' ';')"
fi
