# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests for plugins/filter/gpu.py and plugins/plugin_utils/gpu.py (no GPU needed).

Samples follow the formats nvidia-smi documents and prints (man page, ``--help-query-gpu``,
published outputs of drivers 470-580; see plugin_utils/gpu.py): ", "-separated fields, units
after a space unless ``nounits``, ``[N/A]``/``[Not Supported]`` placeholders, names with spaces,
warnings and error lines on stdout. Outputs recorded on real machines, when there are any, live in
``fixtures/nvidia-smi/`` next to this file and are tested at the end.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.kaapana.platform.plugins.filter import gpu as F
from ansible_collections.kaapana.platform.plugins.plugin_utils import gpu as G

FILTERS = F.FilterModule().filters()
FIELDS = "index,name,uuid,memory.total,driver_version,pci.bus_id"

# `nvidia-smi --query-gpu=index,name,uuid,memory.total,driver_version,pci.bus_id --format=csv,noheader,nounits`
A100_X2 = (
    "0, NVIDIA A100-SXM4-80GB, GPU-c85dddd7-def7-194d-2f1f-29494352aa28, 81920, 580.95.05, 00000000:07:00.0\n"
    "1, NVIDIA A100-SXM4-80GB, GPU-d02dcb78-cfe1-1e6f-fbe1-5653bd0e3433, 81920, 580.95.05, 00000000:0F:00.0\n"
)
# the same with --format=csv (header, units)
A100_X2_UNITS = (
    "index, name, uuid, memory.total [MiB], driver_version, pci.bus_id\n"
    "0, NVIDIA A100-SXM4-80GB, GPU-c85dddd7-def7-194d-2f1f-29494352aa28, 81920 MiB, 580.95.05, 00000000:07:00.0\n"
    "1, NVIDIA A100-SXM4-80GB, GPU-d02dcb78-cfe1-1e6f-fbe1-5653bd0e3433, 81920 MiB, 580.95.05, 00000000:0F:00.0\n"
)
# mixed workstation: names with spaces, PCIe board
MIXED = (
    "0, NVIDIA RTX A5000, GPU-30667114-4567-bc4a-029b-3375d117048e, 24564, 550.54.15, 00000000:17:00.0\n"
    "1, NVIDIA RTX 4500 Ada Generation, GPU-fbe2dd5d-3644-5c37-3179-8ad50079b7d4, 24570, 550.54.15, 00000000:65:00.0\n"
    "2, NVIDIA A100 80GB PCIe, GPU-5a0f7d19-2c4b-4e8a-b6d3-91e2c0f4a7d8, 81920, 550.54.15, 00000000:CA:00.0\n"
)
# DGX Spark (GB10, unified memory): memory.total is [N/A]
GB10 = "0, NVIDIA GB10, GPU-d991dc71-7825-0bf8-3339-cb2e7ead6a32, [N/A], 580.95.05, 0000000F:01:00.0\n"

PLAIN_580 = """Fri Nov 21 04:40:00 2025
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 580.95.05              Driver Version: 580.95.05      CUDA Version: 13.0     |
+-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |
|                                         |                        |               MIG M. |
|=========================================+========================+======================|
|   0  NVIDIA A100-SXM4-80GB          On  |   00000000:07:00.0 Off |                    0 |
| N/A   30C    P0             60W /  400W |       0MiB /  81920MiB |      0%      Default |
|                                         |                        |             Disabled |
+-----------------------------------------+------------------------+----------------------+
"""
PLAIN_550 = "| NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: 12.4     |\n"
PLAIN_470 = ("| NVIDIA-SMI 470.82.01    Driver Version: 470.82.01    CUDA Version: 11.4     |\n"
             "|-------------------------------+----------------------+----------------------+\n")
VERSION_575 = ("NVIDIA-SMI version  : 575.57.08\nNVML version        : 575.57\n"
               "DRIVER version      : 575.57.08\nCUDA Version        : 12.9\n")

UEVENTS = """/sys/bus/pci/devices/0000:00:00.0/uevent:PCI_CLASS=60000
/sys/bus/pci/devices/0000:00:00.0/uevent:PCI_ID=8086:0D57
/sys/bus/pci/devices/0000:00:00.0/uevent:PCI_SUBSYS_ID=0000:0000
/sys/bus/pci/devices/0000:00:00.0/uevent:PCI_SLOT_NAME=0000:00:00.0
/sys/bus/pci/devices/0000:00:00.0/uevent:MODALIAS=pci:v00008086d00000D57sv00000000sd00000000bc06sc00i00
/sys/bus/pci/devices/0000:07:00.0/uevent:DRIVER=nvidia
/sys/bus/pci/devices/0000:07:00.0/uevent:PCI_CLASS=30200
/sys/bus/pci/devices/0000:07:00.0/uevent:PCI_ID=10DE:20B2
/sys/bus/pci/devices/0000:07:00.0/uevent:PCI_SUBSYS_ID=10DE:147F
/sys/bus/pci/devices/0000:07:00.0/uevent:PCI_SLOT_NAME=0000:07:00.0
/sys/bus/pci/devices/0000:0f:00.0/uevent:PCI_CLASS=30200
/sys/bus/pci/devices/0000:0f:00.0/uevent:PCI_ID=10DE:20B2
/sys/bus/pci/devices/0000:0f:00.0/uevent:PCI_SLOT_NAME=0000:0f:00.0
/sys/bus/pci/devices/0000:65:00.0/uevent:DRIVER=nouveau
/sys/bus/pci/devices/0000:65:00.0/uevent:PCI_CLASS=30000
/sys/bus/pci/devices/0000:65:00.0/uevent:PCI_ID=10DE:2684
/sys/bus/pci/devices/0000:65:00.0/uevent:PCI_SLOT_NAME=0000:65:00.0
/sys/bus/pci/devices/0000:65:00.1/uevent:DRIVER=snd_hda_intel
/sys/bus/pci/devices/0000:65:00.1/uevent:PCI_CLASS=40300
/sys/bus/pci/devices/0000:65:00.1/uevent:PCI_ID=10DE:22BA
/sys/bus/pci/devices/0000:65:00.1/uevent:PCI_SLOT_NAME=0000:65:00.1
"""


def result(rc=0, stdout="", stderr="", msg="", **extra):
    """A registered ansible.builtin.command result."""
    res = {"rc": rc, "stdout": stdout, "stderr": stderr, "changed": False, "failed": False}
    if msg:
        res["msg"] = msg
    res.update(extra)
    return res


# ---------------------------------------------------------------------------------------------
# nvidia_smi_query
# ---------------------------------------------------------------------------------------------

def test_query_noheader_nounits_typed():
    rows = FILTERS["nvidia_smi_query"](A100_X2, FIELDS)
    assert rows == [
        {"index": 0, "name": "NVIDIA A100-SXM4-80GB", "uuid": "GPU-c85dddd7-def7-194d-2f1f-29494352aa28",
         "memory.total": 81920, "driver_version": "580.95.05", "pci.bus_id": "00000000:07:00.0"},
        {"index": 1, "name": "NVIDIA A100-SXM4-80GB", "uuid": "GPU-d02dcb78-cfe1-1e6f-fbe1-5653bd0e3433",
         "memory.total": 81920, "driver_version": "580.95.05", "pci.bus_id": "00000000:0F:00.0"},
    ]


def test_query_header_and_units_give_the_same_records():
    assert FILTERS["nvidia_smi_query"](A100_X2_UNITS, FIELDS) == FILTERS["nvidia_smi_query"](A100_X2, FIELDS)


def test_query_fields_as_list_and_with_spaces():
    rows = FILTERS["nvidia_smi_query"](A100_X2, ["index", " name", "uuid ", "memory.total", "driver_version",
                                                 "pci.bus_id"])
    assert rows[1]["name"] == "NVIDIA A100-SXM4-80GB"
    assert FILTERS["nvidia_smi_query"](A100_X2, "index, name, uuid, memory.total, driver_version, pci.bus_id") == rows


def test_query_names_with_spaces():
    rows = FILTERS["nvidia_smi_query"](MIXED, FIELDS)
    assert [r["name"] for r in rows] == ["NVIDIA RTX A5000", "NVIDIA RTX 4500 Ada Generation", "NVIDIA A100 80GB PCIe"]
    assert [r["memory.total"] for r in rows] == [24564, 24570, 81920]


def test_query_driver_version_stays_a_string():
    rows = FILTERS["nvidia_smi_query"]("0, 535.54\n", "index,driver_version")
    assert rows == [{"index": 0, "driver_version": "535.54"}]


@pytest.mark.parametrize("placeholder", ["[N/A]", "[Not Supported]", "N/A", "[Unknown Error]",
                                         "[Insufficient Permissions]", "[GPU requires reset]"])
def test_query_placeholders_are_none(placeholder):
    text = "0, NVIDIA GeForce RTX 3090, %s, %s, 550.54.15\n" % (placeholder, placeholder)
    rows = FILTERS["nvidia_smi_query"](text, "index,name,memory.total,power.draw,driver_version")
    assert rows == [{"index": 0, "name": "NVIDIA GeForce RTX 3090", "memory.total": None, "power.draw": None,
                     "driver_version": "550.54.15"}]


def test_query_unified_memory_na():
    rows = FILTERS["nvidia_smi_query"](GB10, FIELDS)
    assert rows[0]["memory.total"] is None
    assert rows[0]["name"] == "NVIDIA GB10"


def test_query_wide_field_set_with_units():
    text = ("index, name, memory.used [MiB], utilization.gpu [%], power.draw [W], power.limit [W], "
            "clocks.current.sm [MHz], temperature.gpu, compute_cap, fan.speed [%], pstate, mig.mode.current\n"
            "0, NVIDIA H100 80GB HBM3, 4 MiB, 0 %, 69.87 W, 700.00 W, 345 MHz, 31, 9.0, [N/A], P0, Disabled\n"
            "1, NVIDIA GeForce RTX 4090, 1024 MiB, 7 %, [N/A], 450.00 W, 210 MHz, 44, 8.9, 30 %, P8, [N/A]\n")
    fields = ("index,name,memory.used,utilization.gpu,power.draw,power.limit,clocks.current.sm,temperature.gpu,"
              "compute_cap,fan.speed,pstate,mig.mode.current")
    rows = FILTERS["nvidia_smi_query"](text, fields)
    assert rows[0] == {"index": 0, "name": "NVIDIA H100 80GB HBM3", "memory.used": 4, "utilization.gpu": 0,
                       "power.draw": 69.87, "power.limit": 700.0, "clocks.current.sm": 345, "temperature.gpu": 31,
                       "compute_cap": "9.0", "fan.speed": None, "pstate": "P0", "mig.mode.current": "Disabled"}
    assert rows[1]["power.draw"] is None and rows[1]["fan.speed"] == 30 and rows[1]["mig.mode.current"] is None


def test_query_unknown_fields_are_typed_by_shape():
    rows = FILTERS["nvidia_smi_query"]("12, 1.5, 92.00.36.00.02, Enabled, 3 MiB\n",
                                       "some.int,some.float,vbios_like,some.text,some.unit")
    assert rows == [{"some.int": 12, "some.float": 1.5, "vbios_like": "92.00.36.00.02", "some.text": "Enabled",
                     "some.unit": 3}]


def test_query_aliases_keep_the_given_names():
    text = "name, pci.bus_id\nNVIDIA L4, 00000000:3B:00.0\n"
    assert FILTERS["nvidia_smi_query"](text, "gpu_name,gpu_bus_id") == [
        {"gpu_name": "NVIDIA L4", "gpu_bus_id": "00000000:3B:00.0"}]


def test_query_skips_warnings_errors_and_blank_lines():
    text = ("WARNING: infoROM is corrupted at gpu 0000:0B:00.0\n\n"
            "0, Tesla P100-PCIE-16GB, GPU-0b7e6c1a-0000-0000-0000-000000000000, 16280, 470.82.01, 00000000:0B:00.0\n"
            "Unable to determine the device handle for GPU0000:13:00.0: Unknown Error\n"
            "No devices were found\n")
    rows = FILTERS["nvidia_smi_query"](text, FIELDS)
    assert [r["index"] for r in rows] == [0]
    assert rows[0]["name"] == "Tesla P100-PCIE-16GB"


def test_query_comma_in_name_is_glued_back():
    rows = FILTERS["nvidia_smi_query"]("0, Quadro, with comma, 8192\n", "index,name,memory.total")
    assert rows == [{"index": 0, "name": "Quadro, with comma", "memory.total": 8192}]


def test_query_no_gpus_and_error_texts_give_empty_lists():
    for text in ("", "No devices were found\n",
                 "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the "
                 "latest NVIDIA driver is installed and running.\n",
                 "Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 580.95\n"):
        assert FILTERS["nvidia_smi_query"](text, FIELDS) == []


def test_query_single_field():
    assert FILTERS["nvidia_smi_query"]("2\n2\n", "count") == [{"count": 2}, {"count": 2}]


@pytest.mark.parametrize("fields", ["", " , ", [], "index;name", ["memory total"]])
def test_query_bad_fields(fields):
    with pytest.raises(AnsibleFilterError, match="nvidia_smi_query"):
        FILTERS["nvidia_smi_query"](A100_X2, fields)


def test_query_accepts_bytes_and_none():
    assert FILTERS["nvidia_smi_query"](A100_X2.encode(), FIELDS)[0]["index"] == 0
    assert FILTERS["nvidia_smi_query"](None, FIELDS) == []


# ---------------------------------------------------------------------------------------------
# nvidia_smi_cuda_version and driver version
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, cuda, driver", [
    (PLAIN_580, "13.0", "580.95.05"),
    (PLAIN_550, "12.4", "550.54.15"),
    (PLAIN_470, "11.4", "470.82.01"),
    (VERSION_575, "12.9", "575.57.08"),
    ("| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: N/A      |", None, "535.104.05"),
    ("No devices were found", None, None),
    ("", None, None),
])
def test_cuda_and_driver_version(text, cuda, driver):
    assert FILTERS["nvidia_smi_cuda_version"](text) == cuda
    assert G.parse_driver_version(text) == driver


def test_cuda_version_none_input():
    assert FILTERS["nvidia_smi_cuda_version"](None) is None


# ---------------------------------------------------------------------------------------------
# nvidia_smi_status
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("res, state, unexpected", [
    (result(0, A100_X2), "ok", False),
    # ansible-core 2.19 command module, binary not on PATH
    (result(2, msg="Error executing command.", failed_when_suppressed_exception="(traceback unavailable)"),
     "missing", False),
    # older ansible-core
    (result(2, msg="[Errno 2] No such file or directory: b'nvidia-smi'"), "missing", False),
    (result(127, stderr="sh: 1: nvidia-smi: not found"), "missing", False),
    (result(6, "No devices were found"), "no_devices", False),
    (result(0, "No devices were found\n"), "no_devices", False),
    (result(9, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the "
               "latest NVIDIA driver is installed and running."), "driver_error", False),
    (result(18, "Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 580.95"),
     "driver_error", False),
    (result(255, "Failed to initialize NVML: Unknown Error"), "driver_error", False),
    (result(15, "Unable to determine the device handle for GPU0000:01:00.0: GPU is lost.  Reboot the system to "
                "recover this GPU"), "driver_error", False),
    (result(12, "NVIDIA-SMI couldn't find libnvidia-ml.so library in your system. Please make sure that the "
                "NVIDIA Display Driver is properly installed and present in your system."), "driver_error", False),
    (result(14, "WARNING: infoROM is corrupted at gpu 0000:0B:00.0\n" + A100_X2), "driver_error", False),
    (result(2, 'Field "bogus" is not a valid field to query.\n'), "error", True),
    (result(4, "Insufficient Permissions"), "error", True),
    (result(42, "something new"), "error", True),
    ({"skipped": True, "changed": False}, "skipped", False),
])
def test_status(res, state, unexpected):
    status = FILTERS["nvidia_smi_status"](res)
    assert status["state"] == state
    assert status["unexpected"] is unexpected
    if state in ("driver_error", "error"):
        assert str(res["rc"]) in status["message"]


def test_status_driver_errors_name_a_fix():
    status = FILTERS["nvidia_smi_status"](result(18, "Failed to initialize NVML: Driver/library version mismatch"))
    assert "version" in status["message"] and "reboot" in status["fix"]
    status = FILTERS["nvidia_smi_status"](result(9, "NVIDIA-SMI has failed because it couldn't communicate with "
                                                    "the NVIDIA driver."))
    assert "not loaded" in status["message"] and "ubuntu-drivers" in status["fix"]


def test_status_rejects_non_results():
    with pytest.raises(AnsibleFilterError, match="registered result"):
        FILTERS["nvidia_smi_status"]("0, NVIDIA A100")


# ---------------------------------------------------------------------------------------------
# PCI
# ---------------------------------------------------------------------------------------------

def test_pci_uevents():
    devices = FILTERS["pci_uevent_devices"](UEVENTS)
    assert [d["address"] for d in devices] == ["0000:00:00.0", "0000:07:00.0", "0000:0f:00.0", "0000:65:00.0",
                                               "0000:65:00.1"]
    assert devices[1] == {"address": "0000:07:00.0", "vendor": "0x10de", "device": "0x20b2", "class": "0x030200",
                          "driver": "nvidia"}
    assert devices[2]["driver"] is None
    assert devices[0]["class"] == "0x060000"


def test_pci_uevents_ignores_noise():
    assert FILTERS["pci_uevent_devices"]("grep: /sys/bus/pci/devices/x/uevent: Permission denied\n\n") == []
    assert FILTERS["pci_uevent_devices"](None) == []


def test_nvidia_pci_devices_keeps_display_controllers_only():
    devices = FILTERS["pci_uevent_devices"](UEVENTS)
    nvidia = FILTERS["nvidia_pci_devices"](devices)
    assert [d["address"] for d in nvidia] == ["0000:07:00.0", "0000:0f:00.0", "0000:65:00.0"]


@pytest.mark.parametrize("device, expected", [
    ({"vendor": "0x10de", "class": "0x030000"}, True),   # VGA (GeForce, RTX workstation)
    ({"vendor": "0x10de", "class": "0x030200"}, True),   # 3D controller (A100, H100)
    ({"vendor": "0x10DE", "class": "0x0302"}, True),     # 16-bit class
    ({"vendor": 0x10DE, "class": 0x030200}, True),       # integers
    ({"vendor": "0x10de", "class": "0x040300"}, False),  # HDMI audio function
    ({"vendor": "0x10de", "class": "0x0c0330"}, False),  # USB controller of Turing cards
    ({"vendor": "0x10de", "class": "0x068000"}, False),  # NVSwitch bridge
    ({"vendor": "0x1002", "class": "0x030000"}, False),  # AMD
    ({"vendor": "0x10de", "class": None}, False),
    ({"vendor": "garbage", "class": "0x030000"}, False),
])
def test_is_nvidia_display(device, expected):
    assert G.is_nvidia_display(device) is expected


def test_nvidia_pci_devices_normalises_addresses():
    out = FILTERS["nvidia_pci_devices"]([{"address": "00000000:0F:00.0", "vendor": "0x10de", "class": "0x030200"}])
    assert out[0]["address"] == "0000:0f:00.0"


@pytest.mark.parametrize("bad", [{"vendor": "0x10de"}, "0x10de", None, 5])
def test_nvidia_pci_devices_bad_input(bad):
    with pytest.raises(AnsibleFilterError, match="nvidia_pci_devices"):
        FILTERS["nvidia_pci_devices"](bad if bad is not None else 5)


@pytest.mark.parametrize("address, expected", [
    ("00000000:07:00.0", "0000:07:00.0"), ("0000:0F:00.0", "0000:0f:00.0"), ("07:00.0", "0000:07:00.0"),
    ("0000000F:01:00.0", "000f:01:00.0"), ("nope", None), ("", None), (None, None),
])
def test_normalize_pci_address(address, expected):
    assert G.normalize_pci_address(address) == expected


# ---------------------------------------------------------------------------------------------
# nvidia_gpu_facts
# ---------------------------------------------------------------------------------------------

def test_facts_gpu_node():
    pci = FILTERS["pci_uevent_devices"](UEVENTS.replace("DRIVER=nouveau", "DRIVER=nvidia"))
    pci = [d for d in pci if d["address"] != "0000:65:00.0"]
    facts = FILTERS["nvidia_gpu_facts"](result(0, A100_X2), FIELDS, result(0, PLAIN_580), pci)
    assert facts["present"] is True
    assert facts["count"] == 2
    assert facts["names"] == ["NVIDIA A100-SXM4-80GB"] * 2
    assert facts["memory_mib"] == [81920, 81920]
    assert facts["memory_mib_total"] == 163840
    assert facts["driver_version"] == "580.95.05"
    assert facts["cuda_version"] == "13.0"
    assert facts["uuids"][0].startswith("GPU-")
    assert facts["gpus"][1] == {"index": 1, "name": "NVIDIA A100-SXM4-80GB",
                                "uuid": "GPU-d02dcb78-cfe1-1e6f-fbe1-5653bd0e3433", "memory_mib": 81920,
                                "driver_version": "580.95.05", "pci_bus_id": "00000000:0F:00.0"}
    assert facts["nvidia_smi"]["state"] == "ok"
    assert [d["address"] for d in facts["pci_devices"]] == ["0000:07:00.0", "0000:0f:00.0"]
    assert facts["pci_without_driver"] == []
    assert facts["warnings"] == []
    assert facts["pci_scanned"] is True


def test_facts_node_without_gpu_or_driver():
    missing = result(2, msg="Error executing command.")
    facts = FILTERS["nvidia_gpu_facts"](missing, FIELDS, {"skipped": True}, [])
    assert facts["present"] is False and facts["count"] == 0
    assert facts["names"] == [] and facts["memory_mib"] == [] and facts["memory_mib_total"] == 0
    assert facts["driver_version"] is None and facts["cuda_version"] is None
    assert facts["nvidia_smi"]["state"] == "missing"
    assert facts["pci_without_driver"] == [] and facts["warnings"] == []


def test_facts_gpus_on_pci_without_nvidia_smi_warn_with_fix():
    pci = FILTERS["pci_uevent_devices"](UEVENTS)
    facts = FILTERS["nvidia_gpu_facts"](result(2, msg="Error executing command."), FIELDS, None, pci)
    assert facts["present"] is False
    assert [d["address"] for d in facts["pci_without_driver"]] == ["0000:07:00.0", "0000:0f:00.0", "0000:65:00.0"]
    [warning] = facts["warnings"]
    assert "3 NVIDIA GPU(s) on the PCI bus are not usable" in warning
    assert "nvidia-smi is not installed" in warning
    assert "ubuntu-drivers" in warning
    assert "bound to nouveau" in warning and "blacklist nouveau" in warning
    assert "no kernel driver bound" in warning


def test_facts_driver_not_loaded():
    pci = FILTERS["pci_uevent_devices"](UEVENTS)[:3]
    smi = result(9, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that "
                    "the latest NVIDIA driver is installed and running.")
    facts = FILTERS["nvidia_gpu_facts"](smi, FIELDS, None, pci)
    assert facts["present"] is False
    assert facts["nvidia_smi"]["state"] == "driver_error"
    assert len(facts["warnings"]) == 2
    assert "driver is not loaded" in facts["warnings"][0]


def test_facts_one_gpu_lost():
    text = A100_X2.splitlines()[0] + "\nUnable to determine the device handle for GPU0000:0F:00.0: GPU is lost.\n"
    pci = FILTERS["pci_uevent_devices"](UEVENTS)[:3]
    facts = FILTERS["nvidia_gpu_facts"](result(15, text), FIELDS, None, pci)
    assert facts["count"] == 1
    assert [d["address"] for d in facts["pci_without_driver"]] == ["0000:0f:00.0"]
    assert facts["cuda_version"] is None  # no plain table given
    assert any("fallen off the bus" in w for w in facts["warnings"])


def test_facts_without_bus_ids_compares_counts():
    pci = FILTERS["pci_uevent_devices"](UEVENTS)[:3]
    facts = FILTERS["nvidia_gpu_facts"](result(0, "0, NVIDIA A100-SXM4-80GB\n"), "index,name", None, pci)
    assert facts["count"] == 1 and len(facts["pci_without_driver"]) == 1


def test_facts_driver_from_plain_table_when_not_queried():
    facts = FILTERS["nvidia_gpu_facts"](result(0, "0, NVIDIA L4\n"), "index,name", result(0, PLAIN_550))
    assert facts["driver_version"] == "550.54.15" and facts["cuda_version"] == "12.4"
    assert facts["pci_scanned"] is False


def test_facts_unexpected_error_is_reported():
    facts = FILTERS["nvidia_gpu_facts"](result(2, 'Field "bogus" is not a valid field to query.'), "bogus")
    assert facts["nvidia_smi"]["unexpected"] is True
    assert facts["present"] is False
    assert "rejected the query" in facts["warnings"][0]


def test_facts_bad_input():
    with pytest.raises(AnsibleFilterError, match="nvidia_gpu_facts"):
        FILTERS["nvidia_gpu_facts"]("text", FIELDS)


# ---------------------------------------------------------------------------------------------
# gpu_support
# ---------------------------------------------------------------------------------------------

HOSTVARS = {
    "gpu-main": {"kaapana_gpu": {"present": True, "count": 2}},
    "gpu-worker": {"kaapana_gpu": {"present": False, "count": 0}},
    "cpu-worker": {"kaapana_gpu": {"present": False, "count": 0}},
    "other": {},
}


@pytest.mark.parametrize("setting, hosts, enabled, fragment", [
    ("auto", ["gpu-main", "gpu-worker"], True, "GPUs found on gpu-main"),
    ("auto", ["gpu-worker", "cpu-worker"], False, "no host has a working NVIDIA GPU"),
    (True, ["gpu-worker"], True, "enabled anyway"),
    ("true", ["gpu-main"], True, "GPUs found on gpu-main"),
    ("True", ["gpu-main"], True, "GPUs found"),
    (False, ["gpu-main"], False, "although gpu-main has NVIDIA GPUs"),
    ("false", ["gpu-worker"], False, "stays off"),
    ("AUTO", [], False, "no host"),
])
def test_gpu_support(setting, hosts, enabled, fragment):
    decision = FILTERS["gpu_support"](setting, HOSTVARS, hosts)
    assert decision["enabled"] is enabled
    assert fragment in decision["reason"]


def test_gpu_support_lists_hosts():
    decision = FILTERS["gpu_support"]("auto", HOSTVARS, ["gpu-main", "gpu-worker", "other", "unknown"])
    assert decision["gpu_hosts"] == ["gpu-main"]
    assert decision["hosts_without_facts"] == ["other", "unknown"]


@pytest.mark.parametrize("bad", ["maybe", "enabled", "", None, 2])
def test_gpu_support_bad_value_names_variable_and_choices(bad):
    with pytest.raises(AnsibleFilterError, match="kaapana_gpu_support must be one of auto, true, false"):
        FILTERS["gpu_support"](bad, HOSTVARS, ["gpu-main"])
