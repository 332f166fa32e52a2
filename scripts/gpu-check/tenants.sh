# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2154 # variables shared across these files
# Part "tenants" of scripts/gpu-check.sh (sourced after the set-up):
#   tenants          bench/tenants.sh's start-up, memory and 16/32-tenant
#                    scaling figures (TENANTS, SIZE, SECONDS_EACH as there);
#                    on a host of several GPUs, how many tenants the server
#                    placed on each and each GPU's utilisation (the "gpus"
#                    lines: run it on a 2- and a 4-GPU host to see the spread;
#                    PLACEMENT=all runs the scaling servers with every
#                    tenant seeing every GPU, the way before placement)

# shellcheck source=SCRIPTDIR/../../bench/tenants.sh
. "$top/bench/tenants.sh"
tenants_main >"$logs/tenants.txt" 2>&1; rc=$?
cat "$logs/tenants.txt"
result tenants "$([ $rc -eq 0 ] && ! grep -q failed "$logs/tenants.txt" && echo PASS || echo FAIL)" \
  "$(grep -o -e 'scaling N=[0-9]*: .*' -e 'gpus process N=[0-9]*: .*' "$logs/tenants.txt" | tr '\n' ';')"
