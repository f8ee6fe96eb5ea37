# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Pure NVIDIA GPU detection logic for the ``kaapana.platform.gpu`` role (and its filters).

Everything here works on text and plain dicts: the output of ``nvidia-smi`` (CSV query and the
plain summary table), the result dict Ansible registers for a ``command`` task, and the
``uevent`` files of ``/sys/bus/pci/devices/*``. No subprocess, no file access, so it is
unit-testable with recorded outputs.

Formats (``nvidia-smi --help-query-gpu`` and the nvidia-smi man page, drivers 470 to 580):

* ``--format=csv``: a header line ``index, name, memory.total [MiB]`` (unit in brackets), then
  one line per GPU; fields are separated by ``", "`` (comma and one space); values with a unit
  carry it after a space (``81920 MiB``, ``72.00 W``, ``0 %``); ``noheader`` drops the header,
  ``nounits`` drops the units (in the header and in the values).
* A value the device or driver cannot give is ``[N/A]``, ``[Not Supported]`` (older drivers also
  print ``N/A``, some ``[Unknown Error]``, ``[Insufficient Permissions]``, ``[GPU requires reset]``).
  DGX Spark (GB10, unified memory) reports ``memory.total`` as ``[N/A]``.
* Names contain spaces (``NVIDIA A100-SXM4-80GB``, ``NVIDIA A100 80GB PCIe``,
  ``NVIDIA RTX 4500 Ada Generation``) but no commas; unknown boards read ``NVIDIA Graphics Device``.
* ``pci.bus_id`` has an 8-digit domain (``00000000:07:00.0``); sysfs uses 4 (``0000:07:00.0``).
* Warnings and errors go to stdout too (``WARNING: infoROM is corrupted at gpu 0000:0B:00.0``,
  ``Unable to determine the device handle for GPU0000:01:00.0: Unknown Error``), so lines that
  do not have the queried number of fields are not GPUs.
* Exit status = NVML return code: 0 ok, 2 invalid argument (also an unknown field), 3 not
  supported, 4 no permission, 6 not found (``No devices were found``), 8 insufficient power,
  9 driver not loaded, 12 NVML library not found, 13 function not found, 14 infoROM corrupted
  (output still valid), 15 GPU lost (fallen off the bus), 18 driver/library version mismatch,
  255 other error.
* The plain table's first box line reads
  ``| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: 12.4 |`` (column widths vary
  with the driver branch); newer drivers also print ``CUDA Version : 12.9`` for ``--version``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

NVIDIA_PCI_VENDOR = 0x10DE
# PCI base class 0x03 = display controller (0x0300 VGA, 0x0302 3D controller: datacenter GPUs)
DISPLAY_CLASS = 0x03

# Values nvidia-smi prints when it has no value for a field.
MISSING_VALUES = frozenset([
    "[n/a]", "n/a", "[not supported]", "not supported", "[unknown error]", "[insufficient permissions]",
    "[gpu requires reset]", "[gpu is lost]", "[unknown]", "",
])

# Field types. Fields not listed are typed by what they look like (see _auto_type).
INT_FIELDS = frozenset([
    "index", "count", "memory.total", "memory.used", "memory.free", "memory.reserved",
    "temperature.gpu", "temperature.memory", "utilization.gpu", "utilization.memory",
    "utilization.encoder", "utilization.decoder", "fan.speed", "pcie.link.gen.current",
    "pcie.link.gen.max", "pcie.link.gen.gpucurrent", "pcie.link.gen.gpumax", "pcie.link.gen.hostmax",
    "pcie.link.width.current", "pcie.link.width.max", "encoder.stats.sessionCount",
    "encoder.stats.averageFps", "encoder.stats.averageLatency",
    "clocks.current.graphics", "clocks.current.sm", "clocks.current.memory", "clocks.current.video",
    "clocks.applications.graphics", "clocks.applications.memory", "clocks.default_applications.graphics",
    "clocks.default_applications.memory", "clocks.max.graphics", "clocks.max.sm", "clocks.max.memory",
    "clocks.gr", "clocks.sm", "clocks.mem", "clocks.video", "clocks.max.gr", "clocks.max.mem",
    "ecc.errors.corrected.volatile.total", "ecc.errors.uncorrected.volatile.total",
    "ecc.errors.corrected.aggregate.total", "ecc.errors.uncorrected.aggregate.total",
])
FLOAT_FIELDS = frozenset([
    "power.draw", "power.draw.average", "power.draw.instant", "power.limit", "enforced.power.limit",
    "power.default_limit", "power.min_limit", "power.max_limit",
])
STR_FIELDS = frozenset([
    "name", "gpu_name", "uuid", "gpu_uuid", "serial", "gpu_serial", "driver_version", "vbios_version",
    "compute_cap", "pci.bus_id", "gpu_bus_id", "pci.domain", "pci.bus", "pci.device", "pci.device_id",
    "pci.sub_device_id", "pstate", "timestamp", "inforom.img", "inforom.oem", "inforom.ecc", "inforom.pwr",
])
# `--query-gpu` aliases and the canonical names nvidia-smi prints in the header instead.
ALIASES = {
    "gpu_name": "name", "gpu_serial": "serial", "gpu_uuid": "uuid", "gpu_bus_id": "pci.bus_id",
    "clocks.gr": "clocks.current.graphics", "clocks.sm": "clocks.current.sm", "clocks.mem": "clocks.current.memory",
    "clocks.video": "clocks.current.video", "clocks.max.gr": "clocks.max.graphics", "clocks.max.mem": "clocks.max.memory",
}

UNIT_RE = re.compile(r"^(-?\d+(?:\.\d+)?)\s*(MiB|KiB|GiB|W|%|MHz|C|J|mJ|s|ms|us|bytes)$")
HEADER_FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*(?: \[[^\]]+\])?$")
FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
CUDA_RE = re.compile(r"CUDA Version\s*:\s*(\d+\.\d+(?:\.\d+)?|N/A)", re.IGNORECASE)
DRIVER_RE = re.compile(r"Driver Version\s*:\s*(\d+(?:\.\d+)+|N/A)", re.IGNORECASE)
UEVENT_ENTRY_RE = re.compile(r"^[A-Z][A-Z0-9_]*=")
PCI_ADDRESS_RE = re.compile(r"^(?:([0-9A-Fa-f]{1,8}):)?([0-9A-Fa-f]{1,2}):([0-9A-Fa-f]{1,2})\.([0-7])$")

# nvidia-smi exit statuses: state and what to do about it.
RC_DRIVER_PROBLEMS = {
    3: "the requested information is not available on this device",
    8: "a GPU's external power cables are not properly attached",
    9: "the NVIDIA kernel driver is not loaded",
    10: "the NVIDIA kernel driver detected an interrupt problem with a GPU",
    11: "the NVIDIA kernel driver detected an interrupt problem with a GPU",
    12: "the NVML library (libnvidia-ml.so) could not be found or loaded",
    13: "the installed NVML library is older than nvidia-smi",
    14: "the infoROM of a GPU is corrupted",
    15: "a GPU has fallen off the bus or has become inaccessible",
    16: "a GPU requires a reset",
    17: "the GPU device is blocked by the operating system or cgroups",
    18: "the NVIDIA driver and its user-space library versions do not match (driver upgraded without a reboot)",
    255: "nvidia-smi failed with an unknown error",
}
DRIVER_FIX = ("install the NVIDIA driver that matches the GPU and kernel (Ubuntu: `sudo ubuntu-drivers install --gpgpu`, "
              "or `sudo apt install nvidia-driver-<version>-server nvidia-utils-<version>-server`), then reboot and "
              "check that `nvidia-smi` lists the GPUs")
RC_FIXES = {
    9: "load the driver (`sudo modprobe nvidia`; after installing or upgrading it, reboot) or, if it is not "
       "installed, " + DRIVER_FIX,
    12: DRIVER_FIX,
    13: "reinstall the NVIDIA driver so that nvidia-smi and libnvidia-ml.so come from the same version",
    14: "update the GPU firmware or contact the vendor; the GPU may still work",
    15: "check the GPU's seating, power and cooling and reboot; see `dmesg | grep -i xid`",
    16: "reset the GPU (`sudo nvidia-smi -r -i <index>`) or reboot",
    18: "reboot so that the NVIDIA kernel module matches the installed driver libraries",
}


def _text(value):
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def split_fields(fields):
    """A field list as nvidia-smi takes it (``"index,name"``) or a list -> list of names."""
    if isinstance(fields, (list, tuple)):
        names = [_text(f).strip() for f in fields]
    else:
        names = [f.strip() for f in _text(fields).split(",")]
    names = [n for n in names if n]
    if not names:
        raise ValueError("no fields given: pass the --query-gpu field list, such as 'index,name,memory.total'")
    for name in names:
        if not FIELD_RE.match(name):
            raise ValueError("'%s' is not an nvidia-smi --query-gpu field name" % name)
    return names


def is_missing(value):
    """True for the placeholders nvidia-smi prints instead of a value."""
    return _text(value).strip().lower() in MISSING_VALUES


def _strip_unit(value):
    match = UNIT_RE.match(value)
    return match.group(1) if match else value


def _auto_type(value):
    if re.match(r"^-?\d+$", value):
        return int(value)
    if re.match(r"^-?\d+\.\d+$", value) and not re.match(r"^\d+\.\d+\.", value):
        return float(value)
    return value


def convert_value(field, raw):
    """One CSV value of ``field`` -> int, float, str, or None for [N/A]-like placeholders."""
    value = _text(raw).strip()
    if is_missing(value):
        return None
    canonical = ALIASES.get(field, field)
    if canonical in STR_FIELDS or field in STR_FIELDS:
        return value
    number = _strip_unit(value)
    if canonical in INT_FIELDS:
        try:
            return int(number)
        except ValueError:
            try:
                return int(float(number))
            except ValueError:
                return value
    if canonical in FLOAT_FIELDS:
        try:
            return float(number)
        except ValueError:
            return value
    if number != value:
        return _auto_type(number)
    return _auto_type(value)


def _is_header(columns, fields):
    if len(columns) != len(fields):
        return False
    if not all(HEADER_FIELD_RE.match(c) for c in columns):
        return False
    bare = [c.split(" [", 1)[0] for c in columns]
    return any(b == f or b == ALIASES.get(f, f) for b, f in zip(bare, fields))


def _split_row(line, fields):
    columns = [c.strip() for c in line.split(",")]
    if len(columns) > len(fields) and "name" in [ALIASES.get(f, f) for f in fields]:
        # a comma inside the product name (never seen, but cheap to survive): glue the extra
        # columns back onto the name
        pos = [ALIASES.get(f, f) for f in fields].index("name")
        extra = len(columns) - len(fields)
        columns[pos:pos + extra + 1] = [", ".join(columns[pos:pos + extra + 1])]
    return columns


def parse_query_csv(text, fields):
    """Parse ``nvidia-smi --query-gpu=FIELDS --format=csv[,noheader][,nounits]`` output.

    Returns one dict per GPU, keyed by the field names as given in ``fields`` (so ``gpu_name``
    stays ``gpu_name``), with typed values: integers for indices, counts, MiB, %, MHz and
    temperatures, floats for watts, strings for names, UUIDs, versions and PCI ids, and None for
    ``[N/A]``/``[Not Supported]``. A header line (with or without units) is skipped, and so is any
    line that does not have one value per field (warnings, error messages, ``No devices were found``).
    """
    names = split_fields(fields)
    rows = []
    for line in _text(text).splitlines():
        line = line.strip()
        if not line:
            continue
        columns = _split_row(line, names)
        if len(columns) != len(names) or _is_header(columns, names):
            continue
        if len(names) > 1 and line.lower().startswith(("warning", "error", "unable to", "failed to")):
            continue
        rows.append(dict((field, convert_value(field, value)) for field, value in zip(names, columns)))
    return rows


def parse_cuda_version(text):
    """The CUDA version from the plain ``nvidia-smi`` table header (or ``nvidia-smi --version``), or None."""
    match = CUDA_RE.search(_text(text))
    if not match or match.group(1).upper() == "N/A":
        return None
    return match.group(1)


def parse_driver_version(text):
    """The driver version from the plain ``nvidia-smi`` table header (or ``--version``), or None."""
    match = DRIVER_RE.search(_text(text))
    if not match or match.group(1).upper() == "N/A":
        return None
    return match.group(1)


def normalize_pci_address(address):
    """``00000000:07:00.0``, ``0000:07:00.0`` or ``07:00.0`` -> ``0000:07:00.0`` (lower case), or None."""
    match = PCI_ADDRESS_RE.match(_text(address).strip())
    if not match:
        return None
    domain, bus, device, function = match.groups()
    return "%04x:%02x:%02x.%s" % (int(domain or "0", 16), int(bus, 16), int(device, 16), function)


def _hex(value, default=None):
    if value is None:
        return default
    if isinstance(value, int):
        return value
    text = _text(value).strip().lower()
    if not text:
        return default
    try:
        return int(text, 16)
    except ValueError:
        return default


def parse_pci_uevents(text):
    """Devices from ``grep -H -e '' /sys/bus/pci/devices/*/uevent`` output.

    Each line is ``<path>/uevent:KEY=VALUE``. Returns
    ``[{address, vendor, device, class, driver}]`` sorted by address, with vendor/device as
    ``0x10de``-style strings, class as ``0x030200`` and driver as the bound kernel driver or None.
    """
    devices = {}
    for line in _text(text).splitlines():
        path, sep, entry = line.rpartition("/uevent:")
        if not sep:
            continue
        if not UEVENT_ENTRY_RE.match(entry):
            continue
        address = path.rsplit("/", 1)[-1]
        key, _eq, value = entry.partition("=")
        dev = devices.setdefault(address, {"address": address, "vendor": None, "device": None, "class": None,
                                           "driver": None})
        value = value.strip()
        if key == "PCI_ID" and ":" in value:
            vendor, device = value.split(":", 1)
            dev["vendor"] = "0x%04x" % _hex(vendor, 0)
            dev["device"] = "0x%04x" % _hex(device, 0)
        elif key == "PCI_CLASS":
            dev["class"] = "0x%06x" % _hex(value, 0)
        elif key == "DRIVER":
            dev["driver"] = value or None
        elif key == "PCI_SLOT_NAME" and value:
            dev["address"] = value
    return sorted(devices.values(), key=lambda d: d["address"])


def is_nvidia_display(device):
    """True for an NVIDIA display controller (VGA 0x0300, 3D 0x0302, ...), not its audio or USB functions."""
    vendor = _hex(device.get("vendor"))
    pci_class = _hex(device.get("class"))
    if vendor != NVIDIA_PCI_VENDOR or pci_class is None:
        return False
    # sysfs `class` is 0xCCSSPP (24 bit); accept a bare 0xCCSS too
    base = pci_class >> 16 if pci_class > 0xFFFF else pci_class >> 8
    return base == DISPLAY_CLASS


def nvidia_pci_devices(devices):
    """The NVIDIA GPUs among PCI devices given as dicts with ``vendor`` and ``class`` (hex strings or ints)."""
    found = []
    for device in devices or []:
        if not isinstance(device, dict):
            raise TypeError("each PCI device must be a dict with vendor and class, got %r" % (device,))
        if is_nvidia_display(device):
            item = dict(device)
            if item.get("address"):
                item["address"] = normalize_pci_address(item["address"]) or item["address"]
            found.append(item)
    return found


def command_missing(result):
    """True when a registered ``ansible.builtin.command`` result says the executable could not be run.

    A missing binary gives ``rc`` 2, no output and ``msg`` ``Error executing command.`` (ansible-core
    2.19; older releases put ``[Errno 2] No such file or directory: b'nvidia-smi'`` in ``msg``); a
    shell gives 127. nvidia-smi itself always prints something when it exits non-zero.
    """
    result = result or {}
    if result.get("rc") == 127:
        return True
    if _text(result.get("stdout")).strip() or _text(result.get("stderr")).strip():
        return False
    message = _text(result.get("msg"))
    return any(text in message for text in ("No such file or directory", "Error executing command",
                                            "command not found", "Permission denied"))


def nvidia_smi_status(result):
    """Classify a registered ``nvidia-smi --query-gpu`` command result.

    Returns ``{state, rc, message, fix, unexpected}`` where state is one of
    ``ok`` (GPUs listed), ``missing`` (no nvidia-smi: no NVIDIA driver installed),
    ``no_devices`` (driver present, no GPU), ``driver_error`` (a driver or GPU problem nvidia-smi
    reports: not loaded, version mismatch, GPU lost, ...) and ``error`` (a failure this role does
    not expect, such as an invalid argument or missing permission); ``unexpected`` is True only for
    ``error``.
    """
    result = result or {}
    if result.get("skipped"):
        return {"state": "skipped", "rc": None, "message": "nvidia-smi was not run", "fix": None,
                "unexpected": False}
    rc = result.get("rc")
    stdout = _text(result.get("stdout"))
    stderr = _text(result.get("stderr"))
    output = "\n".join(t for t in (stdout.strip(), stderr.strip()) if t)
    first = output.splitlines()[0].strip() if output else _text(result.get("msg")).strip()
    if command_missing(result):
        return {"state": "missing", "rc": rc, "message": "nvidia-smi is not installed (no NVIDIA driver)",
                "fix": DRIVER_FIX, "unexpected": False}
    if rc == 0:
        if "no devices were found" in output.lower():
            return {"state": "no_devices", "rc": rc, "message": "No devices were found", "fix": None,
                    "unexpected": False}
        return {"state": "ok", "rc": rc, "message": first if first.lower().startswith("warning") else "",
                "fix": None, "unexpected": False}
    if rc == 6 or "no devices were found" in output.lower():
        return {"state": "no_devices", "rc": rc, "message": first or "No devices were found", "fix": None,
                "unexpected": False}
    lowered = output.lower()
    if rc in RC_DRIVER_PROBLEMS or "couldn't communicate with the nvidia driver" in lowered \
            or "failed to initialize nvml" in lowered or "fallen off the bus" in lowered:
        if "version mismatch" in lowered:
            rc_key = 18
        elif "couldn't communicate with the nvidia driver" in lowered:
            rc_key = 9
        else:
            rc_key = rc
        reason = RC_DRIVER_PROBLEMS.get(rc_key, "nvidia-smi reports a driver problem")
        return {"state": "driver_error", "rc": rc, "message": "%s (nvidia-smi exit status %s: %s)"
                % (reason, rc, first or "no output"), "fix": RC_FIXES.get(rc_key, DRIVER_FIX), "unexpected": False}
    if rc == 2:
        message = "nvidia-smi rejected the query (exit status 2: %s); the driver may be too old for a queried field" \
                  % (first or "invalid argument")
    elif rc == 4:
        message = "nvidia-smi has no permission (exit status 4: %s); run the detection with become" % (first or "")
    else:
        message = "nvidia-smi failed unexpectedly (exit status %s: %s)" % (rc, first or "no output")
    return {"state": "error", "rc": rc, "message": message, "fix": None, "unexpected": True}


def gpu_facts(query_result, fields, plain_result=None, pci_devices=None):
    """The ``kaapana_gpu`` fact of one host.

    ``query_result`` is the registered result of ``nvidia-smi --query-gpu=FIELDS
    --format=csv,noheader,nounits`` (FIELDS should include index, name, uuid, memory.total,
    driver_version and pci.bus_id), ``plain_result`` that of plain ``nvidia-smi`` (for the CUDA
    version; may be None or skipped), ``pci_devices`` the host's PCI devices as from
    :func:`parse_pci_uevents` (None when they were not read).
    """
    status = nvidia_smi_status(query_result)
    rows = parse_query_csv(_text((query_result or {}).get("stdout")), fields) \
        if status["state"] in ("ok", "driver_error") else []
    plain = _text((plain_result or {}).get("stdout")) if plain_result and not plain_result.get("skipped") else ""
    gpus = []
    for row in rows:
        gpus.append({
            "index": row.get("index"),
            "name": row.get("name", row.get("gpu_name")),
            "uuid": row.get("uuid", row.get("gpu_uuid")),
            "memory_mib": row.get("memory.total"),
            "driver_version": row.get("driver_version"),
            "pci_bus_id": row.get("pci.bus_id", row.get("gpu_bus_id")),
        })
    driver = next((g["driver_version"] for g in gpus if g["driver_version"]), None) or parse_driver_version(plain)
    nvidia_pci = nvidia_pci_devices(pci_devices or [])
    if gpus and not any(g["pci_bus_id"] for g in gpus):
        # bus ids not queried: only the count can tell
        without = nvidia_pci[len(gpus):]
    else:
        seen = set(normalize_pci_address(g["pci_bus_id"]) for g in gpus)
        without = [d for d in nvidia_pci if normalize_pci_address(d.get("address")) not in seen]
    memory = [g["memory_mib"] for g in gpus]
    facts = {
        "present": bool(gpus),
        "count": len(gpus),
        "names": [g["name"] for g in gpus],
        "uuids": [g["uuid"] for g in gpus],
        "memory_mib": memory,
        "memory_mib_total": sum(m for m in memory if isinstance(m, int)),
        "driver_version": driver,
        "cuda_version": parse_cuda_version(plain) if gpus else None,
        "gpus": gpus,
        "nvidia_smi": status,
        "pci_devices": nvidia_pci,
        "pci_without_driver": without,
        "pci_scanned": pci_devices is not None,
    }
    warnings = []
    if status["state"] in ("driver_error", "error") or (status["state"] == "ok" and status["message"]):
        warnings.append("nvidia-smi: %s%s" % (status["message"], (". Fix: %s" % status["fix"]) if status["fix"] else ""))
    pci = pci_warning(facts)
    if pci:
        warnings.append(pci)
    facts["warnings"] = warnings
    return facts


def pci_warning(facts):
    """A warning text for NVIDIA GPUs on the PCI bus that nvidia-smi does not list, or None."""
    without = (facts or {}).get("pci_without_driver") or []
    if not without:
        return None
    status = (facts or {}).get("nvidia_smi") or {}
    parts = []
    for dev in without:
        driver = dev.get("driver")
        if driver == "nvidia":
            state = "bound to the nvidia driver"
        elif driver == "nouveau":
            state = "bound to nouveau (the open-source driver, no CUDA)"
        elif driver in ("vfio-pci", "pci-stub"):
            state = "reserved for passthrough by %s" % driver
        elif driver:
            state = "bound to %s" % driver
        else:
            state = "no kernel driver bound"
        parts.append("%s (device %s, %s)" % (dev.get("address"), dev.get("device"), state))
    reason = status.get("message") or "nvidia-smi does not list them"
    fix = status.get("fix") or DRIVER_FIX
    if any(d.get("driver") == "nouveau" for d in without):
        fix += "; blacklist nouveau (`echo blacklist nouveau | sudo tee /etc/modprobe.d/blacklist-nouveau.conf`, " \
               "`sudo update-initramfs -u`)"
    return ("%d NVIDIA GPU(s) on the PCI bus are not usable: %s. %s. Fix: %s. Until then GPU support "
            "cannot use them." % (len(without), "; ".join(parts), reason, fix))


def resolve_support(setting, gpu_hosts):
    """``kaapana_gpu_support`` (auto/true/false, bools allowed) + hosts with a GPU -> (enabled, reason)."""
    value = _text(setting).strip().lower()
    if value in ("true", "yes", "on", "1"):
        value = "true"
    elif value in ("false", "no", "off", "0"):
        value = "false"
    if value not in ("auto", "true", "false"):
        raise ValueError("kaapana_gpu_support must be one of auto, true, false; got %r" % (setting,))
    hosts = list(gpu_hosts or [])
    if value == "false":
        return False, ("kaapana_gpu_support is false: GPU support stays off"
                       + (" although %s %s NVIDIA GPUs" % (", ".join(hosts), "has" if len(hosts) == 1 else "have")
                          if hosts else ""))
    if value == "true":
        if hosts:
            return True, "kaapana_gpu_support is true; GPUs found on %s" % ", ".join(hosts)
        return True, ("kaapana_gpu_support is true but no host has a working NVIDIA GPU (nvidia-smi lists none): "
                      "GPU support is enabled anyway, as Kaapana's 'Enable GPU support anyway?' does; GPU workloads "
                      "will not be scheduled until a node has a GPU and driver. Set kaapana_gpu_support to auto to "
                      "follow detection")
    if hosts:
        return True, "GPU support follows detection (kaapana_gpu_support: auto): GPUs found on %s" % ", ".join(hosts)
    return False, "GPU support follows detection (kaapana_gpu_support: auto): no host has a working NVIDIA GPU"
