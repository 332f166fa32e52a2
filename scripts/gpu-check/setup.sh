# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# The set-up scripts/gpu-check.sh runs before any part: BUNDLE/root-debs
# (bookworm's Vulkan loader and glvnd libraries: NVIDIA's headless Vulkan
# needs libEGL) are unpacked over / and ldconfig runs, as root only;
# everything else (the Venus client, vulkaninfo and their libraries,
# BUNDLE/debs) goes into the private prefix $prefix. Sets HOST_ICD (NVIDIA's
# ICD json unless given), VIRTIO_ICD, lib, g26 and have_g26, and prints the
# "== host:" line.

# --- set-up --------------------------------------------------------------------
if compgen -G "$bundle/root-debs/*.deb" >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    for deb in "$bundle"/root-debs/*.deb; do dpkg -x "$deb" /; done
    ldconfig
  else
    echo "gpu-check: not root: $bundle/root-debs not unpacked over /" >&2
  fi
fi
for deb in "$bundle"/debs/*.deb; do dpkg -x "$deb" "$prefix"; done
lib=$prefix/usr/lib/x86_64-linux-gnu
sed "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"$lib/libvulkan_virtio.so\"#" \
  "$prefix/usr/share/vulkan/icd.d/virtio_icd.json" >"$prefix/virtio_icd.json"
VIRTIO_ICD=$prefix/virtio_icd.json
HOST_ICD=${HOST_ICD:-$(ls /usr/local/nvidia/share/vulkan/icd.d/nvidia*_icd.json /usr/share/vulkan/icd.d/nvidia*_icd.json \
  /etc/vulkan/icd.d/nvidia*_icd.json 2>/dev/null | head -n1)}
[ -n "$HOST_ICD" ] || { echo "no host ICD found; set HOST_ICD" >&2; exit 1; }
for f in /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/share/glvnd/egl_vendor.d/10_nvidia.json; do
  if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -e "$f" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES=$f; fi
done
# The loader is the machine's (or the one just unpacked over /); the Venus
# client's libraries come from the prefix.
export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PATH=$prefix/usr/bin:$PATH
unset VN_DEBUG VTEST_SOCKET_NAME VK_ADD_DRIVER_FILES

# One line on a host of several GPUs: the first's name and driver, "xN" after the name.
gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null)
gpu_n=$(grep -c . <<<"$gpu")
gpu=$(head -n1 <<<"$gpu")
[ "$gpu_n" -le 1 ] || gpu="${gpu%%,*} x$gpu_n,${gpu#*,}"
echo "== host: ${gpu:-unknown}, $(nproc) CPUs, $(uname -r), ICD $HOST_ICD, $(date -u '+%Y-%m-%d %H:%M UTC')"

g26=$bundle/guest26
have_g26=0
if [ -x "$g26/lib/ld-linux-x86-64.so.2" ]; then
  have_g26=1
  sed "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"$g26/lib/libvulkan_virtio.so\"#" \
    "$prefix/usr/share/vulkan/icd.d/virtio_icd.json" >"$prefix/virtio26_icd.json"
fi
