# -----------------------------------------------------------------------------------------------
# kaapana lab STAND-IN for NVIDIA's `nvidia-smi` -- NOT the real tool; there is no GPU here.
#
# Lab node containers marked as GPU nodes get this stand-in as /usr/bin/nvidia-smi. It prints what
# nvidia-smi prints for the GPUs described by the container's environment (read from
# /proc/1/environ when the calling process does not carry them):
#   KAAPANA_LAB_GPU_COUNT (0 = "No devices were found"), KAAPANA_LAB_GPU_NAME,
#   KAAPANA_LAB_GPU_MEMORY_MIB, KAAPANA_LAB_GPU_DRIVER, KAAPANA_LAB_GPU_CUDA
# Supported: plain `nvidia-smi` (the driver 5xx table, CUDA version only in its header),
# `-L`/`--list-gpus`, `--query-gpu=FIELDS --format=csv[,noheader][,nounits]` (field names and
# units as `nvidia-smi --help-query-gpu` documents them; an unknown field gives
# `Field "x" is not a valid field to query.` and exit status 2), `-i/--id`, `--version`,
# `--help-query-gpu`, `-h`.
# Test hooks: KAAPANA_LAB_STANDIN_ROOT prefixes /proc/1/environ; KAAPANA_LAB_STANDIN_NOW fixes
# the clock. Runs as the thin executable `nvidia-smi`; shared helpers are in common.py.
# Python 3 standard library only.
# -----------------------------------------------------------------------------------------------
import hashlib
import os
import sys
import time

from .common import node_env, now, run_main

STANDIN_NOTE = "kaapana lab stand-in for nvidia-smi (no real GPU)"

# (compute capability, power cap W, datacenter part (no fan, ECC, MIG-capable), PCI device id)
MODELS = [
    ("B200", "10.0", 1000, True, "0x290110DE"), ("H200", "9.0", 700, True, "0x233510DE"),
    ("H100", "9.0", 700, True, "0x233010DE"), ("A100-SXM4-80GB", "8.0", 400, True, "0x20B210DE"),
    ("A100-SXM4-40GB", "8.0", 400, True, "0x20B010DE"), ("A100 80GB PCIe", "8.0", 300, True, "0x20B510DE"),
    ("A100", "8.0", 250, True, "0x20F110DE"), ("A30", "8.0", 165, True, "0x20B710DE"),
    ("A40", "8.6", 300, True, "0x223510DE"), ("A10", "8.6", 150, True, "0x223610DE"),
    ("L40", "8.9", 300, True, "0x26B510DE"), ("L4", "8.9", 72, True, "0x27B810DE"),
    ("V100", "7.0", 300, True, "0x1DB610DE"), ("T4", "7.5", 70, True, "0x1EB810DE"),
    ("RTX 50", "12.0", 575, False, "0x2B8510DE"), ("RTX 40", "8.9", 450, False, "0x268410DE"),
    ("RTX 30", "8.6", 350, False, "0x220410DE"), ("RTX A", "8.6", 300, False, "0x223010DE"),
]
BUS_IDS = ["07", "0F", "47", "4E", "87", "90", "B7", "BD"]


class Gpu:
    def __init__(self, index, name, memory, driver, node):
        self.index, self.name, self.memory_total, self.driver = index, name, memory, driver
        model = next((m for m in MODELS if m[0] in name), ("", "8.0", 300, True, "0x20B210DE"))
        self.compute_cap, self.power_limit, self.datacenter, self.device_id = model[1], model[2], model[3], model[4]
        digest = hashlib.sha256(("%s/%d/%s" % (node, index, name)).encode()).hexdigest()
        self.uuid = "GPU-%s-%s-%s-%s-%s" % (digest[0:8], digest[8:12], digest[12:16], digest[16:20], digest[20:32])
        self.serial = "13240%08d" % (int(digest[:8], 16) % 100000000)
        bus = BUS_IDS[index] if index < len(BUS_IDS) else "%02X" % (0x10 + index)
        self.bus = bus
        self.pci_bus_id = "00000000:%s:00.0" % bus
        try:
            used = int(node_env("KAAPANA_LAB_GPU_MEMORY_USED_MIB", "0"))
        except ValueError:
            used = 0
        self.memory_used = min(used, memory)
        self.memory_reserved = 0
        self.memory_free = memory - self.memory_used - self.memory_reserved
        self.temperature = 30 + index
        self.power_draw = round(self.power_limit * 0.15 + index * 0.37, 2)
        self.pstate = "P0"


def gpus():
    try:
        count = int(node_env("KAAPANA_LAB_GPU_COUNT", "0") or 0)
    except ValueError:
        count = 0
    name = node_env("KAAPANA_LAB_GPU_NAME", "NVIDIA A100-SXM4-80GB") or "NVIDIA A100-SXM4-80GB"
    try:
        memory = int(node_env("KAAPANA_LAB_GPU_MEMORY_MIB", "81920") or 81920)
    except ValueError:
        memory = 81920
    driver = node_env("KAAPANA_LAB_GPU_DRIVER", "580.95.05") or "580.95.05"
    node = node_env("KAAPANA_LAB_NODE_NAME", "") or os.uname().nodename
    return [Gpu(i, name, memory, driver, node) for i in range(max(count, 0))]


def cuda_version():
    return node_env("KAAPANA_LAB_GPU_CUDA", "13.0") or "13.0"


class Fail(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


# ---- --query-gpu fields: name -> (unit shown as "[unit]" in the header, value function) ----------
def _mib(value):
    return ("%d" % value, "MiB")


FIELDS = {
    "timestamp": (None, lambda g, n: time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(now()))
                  + ".%03d" % int((now() % 1) * 1000)),
    "driver_version": (None, lambda g, n: g.driver),
    "count": (None, lambda g, n: str(n)),
    "name": (None, lambda g, n: g.name),
    "serial": (None, lambda g, n: g.serial if g.datacenter else "[N/A]"),
    "uuid": (None, lambda g, n: g.uuid),
    "pci.bus_id": (None, lambda g, n: g.pci_bus_id),
    "pci.domain": (None, lambda g, n: "0x0000"),
    "pci.bus": (None, lambda g, n: "0x" + g.bus),
    "pci.device": (None, lambda g, n: "0x00"),
    "pci.device_id": (None, lambda g, n: g.device_id),
    "pci.sub_device_id": (None, lambda g, n: "0x147F10DE"),
    "pcie.link.gen.current": (None, lambda g, n: "4"),
    "pcie.link.gen.max": (None, lambda g, n: "4"),
    "pcie.link.width.current": (None, lambda g, n: "16"),
    "pcie.link.width.max": (None, lambda g, n: "16"),
    "index": (None, lambda g, n: str(g.index)),
    "display_mode": (None, lambda g, n: "Disabled"),
    "display_active": (None, lambda g, n: "Disabled"),
    "persistence_mode": (None, lambda g, n: "Enabled"),
    "addressing_mode": (None, lambda g, n: "None"),
    "vbios_version": (None, lambda g, n: "92.00.36.00.02"),
    "compute_cap": (None, lambda g, n: g.compute_cap),
    "driver_model.current": (None, lambda g, n: "[N/A]"),
    "driver_model.pending": (None, lambda g, n: "[N/A]"),
    "fan.speed": ("%", lambda g, n: "[N/A]" if g.datacenter else ("0", "%")),
    "pstate": (None, lambda g, n: g.pstate),
    "memory.total": ("MiB", lambda g, n: _mib(g.memory_total)),
    "memory.reserved": ("MiB", lambda g, n: _mib(g.memory_reserved)),
    "memory.used": ("MiB", lambda g, n: _mib(g.memory_used)),
    "memory.free": ("MiB", lambda g, n: _mib(g.memory_free)),
    "compute_mode": (None, lambda g, n: "Default"),
    "utilization.gpu": ("%", lambda g, n: ("0", "%")),
    "utilization.memory": ("%", lambda g, n: ("0", "%")),
    "encoder.stats.sessionCount": (None, lambda g, n: "0"),
    "ecc.mode.current": (None, lambda g, n: "Enabled" if g.datacenter else "[N/A]"),
    "ecc.mode.pending": (None, lambda g, n: "Enabled" if g.datacenter else "[N/A]"),
    "ecc.errors.corrected.volatile.total": (None, lambda g, n: "0" if g.datacenter else "[N/A]"),
    "ecc.errors.uncorrected.volatile.total": (None, lambda g, n: "0" if g.datacenter else "[N/A]"),
    "temperature.gpu": (None, lambda g, n: str(g.temperature)),
    "temperature.memory": (None, lambda g, n: str(g.temperature + 4) if g.datacenter else "N/A"),
    "power.management": (None, lambda g, n: "Enabled"),
    "power.draw": ("W", lambda g, n: ("%.2f" % g.power_draw, "W")),
    "power.limit": ("W", lambda g, n: ("%.2f" % g.power_limit, "W")),
    "enforced.power.limit": ("W", lambda g, n: ("%.2f" % g.power_limit, "W")),
    "power.default_limit": ("W", lambda g, n: ("%.2f" % g.power_limit, "W")),
    "power.min_limit": ("W", lambda g, n: ("%.2f" % (g.power_limit * 0.25), "W")),
    "power.max_limit": ("W", lambda g, n: ("%.2f" % g.power_limit, "W")),
    "clocks.current.graphics": ("MHz", lambda g, n: ("1410", "MHz")),
    "clocks.current.sm": ("MHz", lambda g, n: ("1410", "MHz")),
    "clocks.current.memory": ("MHz", lambda g, n: ("1593", "MHz")),
    "clocks.current.video": ("MHz", lambda g, n: ("1275", "MHz")),
    "clocks.applications.graphics": ("MHz", lambda g, n: ("1410", "MHz")),
    "clocks.applications.memory": ("MHz", lambda g, n: ("1593", "MHz")),
    "clocks.max.graphics": ("MHz", lambda g, n: ("1410", "MHz")),
    "clocks.max.sm": ("MHz", lambda g, n: ("1410", "MHz")),
    "clocks.max.memory": ("MHz", lambda g, n: ("1593", "MHz")),
    "mig.mode.current": (None, lambda g, n: "Disabled" if g.datacenter else "[N/A]"),
    "mig.mode.pending": (None, lambda g, n: "Disabled" if g.datacenter else "[N/A]"),
}
ALIASES = {
    "gpu_name": "name", "gpu_serial": "serial", "gpu_uuid": "uuid", "gpu_bus_id": "pci.bus_id",
    "persistence_mode": "persistence_mode", "pstate": "pstate", "memory.total": "memory.total",
    "temperature.gpu": "temperature.gpu", "clocks.gr": "clocks.current.graphics",
    "clocks.sm": "clocks.current.sm", "clocks.mem": "clocks.current.memory", "clocks.video": "clocks.current.video",
    "clocks.applications.gr": "clocks.applications.graphics", "clocks.applications.mem": "clocks.applications.memory",
    "clocks.max.gr": "clocks.max.graphics", "clocks.max.mem": "clocks.max.memory",
    "display_active": "display_active", "fan.speed": "fan.speed", "driver_version": "driver_version",
}


def query(fields_arg, fmt_arg, selected):
    if fmt_arg is None:
        raise Fail(2, "--format must be specified with --query-gpu. Please run 'nvidia-smi -h' for help.")
    options = [o.strip() for o in fmt_arg.split(",") if o.strip()]
    if not options or options[0] != "csv" or any(o not in ("csv", "noheader", "nounits") for o in options):
        raise Fail(2, "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.")
    noheader, nounits = "noheader" in options, "nounits" in options
    names = [f.strip() for f in fields_arg.split(",") if f.strip()]
    if not names:
        raise Fail(2, "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.")
    canonical = []
    for field in names:
        key = ALIASES.get(field, field)
        if key not in FIELDS:
            raise Fail(2, 'Field "%s" is not a valid field to query.\n' % field)
        canonical.append(key)
    lines = []
    if not noheader:
        header = []
        for key in canonical:
            unit = FIELDS[key][0]
            header.append(key if (unit is None or nounits) else "%s [%s]" % (key, unit))
        lines.append(", ".join(header))
    count = len(selected)
    for gpu in selected:
        values = []
        for key in canonical:
            value = FIELDS[key][1](gpu, count)
            if isinstance(value, tuple):
                number, unit = value
                value = number if nounits else "%s %s" % (number, unit)
            values.append(value)
        lines.append(", ".join(values))
    return "\n".join(lines)


def gpu_rows(index, name, persistence, bus_id, disp, ecc, fan, temp, perf, power, power_cap, used, total, util,
             compute_mode, mig):
    """The three table rows of one GPU (driver 5xx layout: 41/24/22 character columns)."""
    if len(name) > 28:
        name = name[:24] + "..."
    return [
        "| %3d  %-28s   %-3s |   %16s %3s | %20s |" % (index, name, persistence, bus_id, disp, ecc),
        "| %3s   %3s    %-2s%16s / %5s |%8sMiB / %6sMiB |%7s%%%13s |" % (
            fan, "%dC" % temp, perf, "%dW" % power, "%dW" % power_cap, used, total, util, compute_mode),
        "|                                         |                        | %20s |" % mig,
    ]


def table(selected):
    driver = selected[0].driver if selected else node_env("KAAPANA_LAB_GPU_DRIVER", "580.95.05")
    wide = "+" + "-" * 89 + "+"
    split = "+" + "-" * 41 + "+" + "-" * 24 + "+" + "-" * 22 + "+"
    lines = [time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(now())) + "       ", wide,
             "| NVIDIA-SMI %-23sDriver Version: %-15sCUDA Version: %-9s|" % (driver, driver, cuda_version()),
             split,
             "| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |",
             "| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |",
             "|                                         |                        |               MIG M. |",
             "|" + "=" * 41 + "+" + "=" * 24 + "+" + "=" * 22 + "|"]
    for gpu in selected:
        lines += gpu_rows(gpu.index, gpu.name, "On", gpu.pci_bus_id, "Off", "0" if gpu.datacenter else "N/A",
                          "N/A" if gpu.datacenter else "0%", gpu.temperature, gpu.pstate, round(gpu.power_draw),
                          gpu.power_limit, gpu.memory_used, gpu.memory_total, 0, "Default",
                          "Disabled" if gpu.datacenter else "N/A")
        lines.append(split)
    lines += ["", wide,
              "| Processes:" + " " * 78 + "|",
              "|  GPU   GI   CI              PID   Type   Process name                        GPU Memory |",
              "|        ID   ID                                                               Usage      |",
              "|" + "=" * 89 + "|",
              "|  No running processes found" + " " * 61 + "|",
              wide]
    return "\n".join(lines)


HELP = """NVIDIA System Management Interface -- v%s

NVSMI provides monitoring information for Tesla and select Quadro devices.
The data is presented in either a plain text or an XML format, via stdout or a file.
NVSMI also provides several management operations for changing the device state.

NOTE: %s.

nvidia-smi [OPTION1 [ARG1]] [OPTION2 [ARG2]] ...

    -h,   --help                Print usage information and exit.
          --version             Print version information and exit.

  LIST OPTIONS:

    -L,   --list-gpus           Display a list of GPUs connected to the system.

  SUMMARY OPTIONS:

    <no arguments>              Show a summary of GPUs connected to the system.

    [plus any of]

    -i,   --id=                 Target a specific GPU.

  QUERY OPTIONS:

    --query-gpu                 Information about GPU.
                                Call --help-query-gpu for more info.
    --format=                   Comma separated list of format options:
                                  csv - comma separated values (MANDATORY)
                                  noheader - skip the first line with column headers
                                  nounits - don't print units for numerical values
"""


def select(all_gpus, ident):
    if ident is None:
        return all_gpus
    chosen = []
    for part in ident.split(","):
        part = part.strip()
        match = [g for g in all_gpus if part in (str(g.index), g.uuid, g.pci_bus_id, g.serial)]
        if not match:
            raise Fail(6, "No devices were found")
        chosen.extend(match)
    return chosen


def main(argv):
    query_fields = fmt = ident = None
    mode = "table"
    i = 0
    try:
        while i < len(argv):
            arg = argv[i]
            key, has_value, value = arg.partition("=")
            if key in ("--query-gpu", "--format", "-i", "--id", "-f", "--filename"):
                if not has_value:
                    i += 1
                    if i >= len(argv):
                        raise Fail(2, "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.")
                    value = argv[i]
                if key == "--query-gpu":
                    query_fields, mode = value, "query"
                elif key == "--format":
                    fmt = value
                elif key in ("-i", "--id"):
                    ident = value
            elif arg in ("-L", "--list-gpus"):
                mode = "list"
            elif arg == "--version":
                mode = "version"
            elif arg in ("-h", "--help"):
                mode = "help"
            elif arg == "--help-query-gpu":
                mode = "help-query"
            else:
                raise Fail(2, "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.")
            i += 1
        if mode == "help":
            print(HELP % (node_env("KAAPANA_LAB_GPU_DRIVER", "580.95.05"), STANDIN_NOTE))
            return 0
        if mode == "help-query":
            print("List of valid properties to query for the switch \"--query-gpu=\":\n")
            for key, (unit, _fn) in FIELDS.items():
                aliases = [a for a, k in ALIASES.items() if k == key and a != key]
                print('"%s"%s' % (key, "".join(' or "%s"' % a for a in aliases)))
                if unit:
                    print("Unit: %s" % unit)
                print("")
            print("(%s)" % STANDIN_NOTE)
            return 0
        all_gpus = gpus()
        if mode == "version":
            driver = node_env("KAAPANA_LAB_GPU_DRIVER", "580.95.05") or "580.95.05"
            print("NVIDIA-SMI version  : %s" % driver)
            print("NVML version        : %s" % ".".join(driver.split(".")[:2]))
            print("DRIVER version      : %s" % driver)
            print("CUDA Version        : %s" % cuda_version())
            return 0
        if not all_gpus:
            raise Fail(6, "No devices were found")
        selected = select(all_gpus, ident)
        if mode == "list":
            for gpu in selected:
                print("GPU %d: %s (UUID: %s)" % (gpu.index, gpu.name, gpu.uuid))
        elif mode == "query":
            print(query(query_fields, fmt, selected))
        else:
            print(table(selected))
    except Fail as fail:
        print(fail.message)
        return fail.code
    return 0


def run():
    """Entry point of the `nvidia-smi` executable."""
    run_main(main, sys.argv[1:])
