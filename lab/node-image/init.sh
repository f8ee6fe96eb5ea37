#!/bin/sh
# PID 1 of a lab node container (stand-in aware): exposes nvidia-smi only on nodes the lab
# marks as GPU nodes, then hands over to systemd so services (iscsid, ...) run for real.
if [ "${KAAPANA_LAB_GPU_COUNT:-0}" -gt 0 ] 2>/dev/null; then
  ln -sf /usr/lib/kaapana-lab/standins/nvidia-smi /usr/bin/nvidia-smi
else
  rm -f /usr/bin/nvidia-smi
fi
# Host keys of this container (none are baked into the image).
ssh-keygen -A >/dev/null 2>&1
exec /lib/systemd/systemd "$@"
