# -----------------------------------------------------------------------------------------------
# kaapana lab STAND-IN for snapd's `snap` command -- NOT the real snapd.
#
# Lab node containers (Podman, Debian 12) cannot run snapd, so this stand-in speaks the parts of
# snap's command line that the kaapana.platform roles use, with snap's own output formats
# (tabwriter alignment, messages, error texts and exit codes from canonical/snapd cmd/snapd/cli):
#   install [--classic] [--channel=C|--stable|--candidate|--beta|--edge] [--dangerous] NAME|FILE.snap
#   ack FILE.assert, remove [--purge] NAME, list [NAME...], info [--verbose] NAME,
#   refresh [NAME] [--channel=C] | --hold[=DURATION] [NAME...] | --unhold [NAME...] | --list | --time,
#   set/get/unset system proxy.http=... (and any other key), wait system seed.loaded,
#   debug api [-X PUT -H ...] /v2/snaps/<snap>/conf (body on stdin) | /v2/changes/<id>, watch <change-id>,
#   services/start/stop/restart, alias/unalias/aliases, changes, version/--version, help.
# The "store" is a built-in catalogue (microk8s, helm, core20, snapd). State lives in
# /var/lib/snapd/state.kaapana-lab-standin.json. Installing microk8s lays out /snap/microk8s,
# /var/snap/microk8s and /snap/bin, then runs the microk8s stand-in's install hook
# (`microk8s --kaapana-lab-hook install`), which writes the args files and talks to the lab API.
#
# Test hooks: KAAPANA_LAB_STANDIN_ROOT (default "/") prefixes every absolute path this stand-in
# touches; KAAPANA_LAB_STANDIN_MICROK8S names the microk8s stand-in to link/run;
# KAAPANA_LAB_STANDIN_NOW (epoch seconds) fixes the clock.
# Runs as the thin executable `snap` (/usr/bin/snap in the node image links to it); shared helpers
# are in common.py. Python 3.11 standard library only (Debian's python3 in the node container).
# -----------------------------------------------------------------------------------------------
import datetime
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse

from .common import P, ROOT, helm_bin, node_env, now, run_main, tabwrite

STANDIN_VERSION = "0+kaapana.lab.standin"
STANDIN_NOTE = "kaapana lab stand-in for snapd (not the real snapd)"
RISKS = ["stable", "candidate", "beta", "edge"]
STATE_FILE = P("/var/lib/snapd/state.kaapana-lab-standin.json")


class SnapError(Exception):
    """Printed as `error: <message>` on stderr, exit status 1 (snap's main())."""


# ---- seeding (overlord/snapstate: every change is refused until the device is seeded) -----------------
# snapd seeds the system when it first starts, and until that ends it refuses every change (install, remove,
# refresh, configuration) with this message; `snap wait system seed.loaded` returns once it has ended. In the lab
# snapd's first start is the first snap command on a new node (socket activation), and seeding then takes
# KAAPANA_LAB_SNAPD_SEED_SECONDS (an environment variable of the node container; 0: seeded at once).
SEED_MESSAGE = "too early for operation, device not yet seeded or device model not acknowledged"
CHANGE_COMMANDS = ("install", "remove", "refresh", "set", "unset", "alias", "unalias")


SEED_FILE = P("/var/lib/snapd/seed.kaapana-lab-standin")


def seeded():
    """Whether seeding has ended; the first call on a node starts it (its end time goes to a file of its own, so
    reading commands leave snap's state file as it was)."""
    try:
        with open(SEED_FILE) as handle:
            at = float(handle.read().strip())
    except (OSError, ValueError):
        at = now() + float(node_env("KAAPANA_LAB_SNAPD_SEED_SECONDS", "0") or 0)
        try:
            os.makedirs(os.path.dirname(SEED_FILE), exist_ok=True)
            with open(SEED_FILE, "w") as handle:
                handle.write("%f\n" % at)
        except OSError:
            pass  # an unprivileged read: seeding starts with the next privileged call
    return now() >= at


# ---- the built-in "store" ---------------------------------------------------------------------
def _microk8s_channels():
    # track -> (stable patch, revision base); candidate/beta/edge are the next patch release.
    tracks = {
        "1.28": (15, 7390), "1.29": (15, 7430), "1.30": (14, 7850), "1.31": (13, 8150),
        "1.32": (9, 8160), "1.33": (5, 8205), "1.34": (1, 8360), "1.35": (0, 8510),
    }
    channels = {}
    for track, (patch, rev) in tracks.items():
        minor = int(track.split(".")[1])
        day = 1 + (minor * 3) % 27
        for i, risk in enumerate(RISKS):
            bump = 0 if risk == "stable" else 1
            channels["%s/%s" % (track, risk)] = {
                "version": "v%s.%d" % (track, patch + bump), "revision": rev + (0 if risk == "stable" else 4 + i),
                "released": "2025-%02d-%02d" % (1 + minor % 12, day), "size": 176000000 + minor * 1000000,
            }
        for strict_risk in RISKS:
            if minor >= 33:
                channels["%s-strict/%s" % (track, strict_risk)] = dict(
                    channels["%s/%s" % (track, strict_risk)], revision=rev + 20, confinement="strict")
    for risk in RISKS:
        channels["latest/" + risk] = dict(channels["1.35/" + risk])
    return channels


CATALOG = {
    "microk8s": {
        "summary": "Kubernetes for workstations and appliances",
        "publisher": ("canonical", "Canonical", "verified"),
        "snap-id": "EaXqgt1lyCaxKaQCU349mlodBkDCXRcg",
        "contact": "https://github.com/canonical/microk8s",
        "license": "Apache-2.0",
        "confinement": "classic", "type": "app", "base": "core20",
        "description": [
            "MicroK8s is a small, fast, secure, single node Kubernetes that installs on",
            "just about any Linux box. Use it for offline development, prototyping,",
            "testing, or use it on a VM as a small, cheap, reliable k8s for CI/CD. It's",
            "also a great k8s for appliances - develop your IoT apps for k8s and deploy",
            "them to MicroK8s on your boxes.",
        ],
        "commands": ["add-node", "addons", "config", "ctr", "dashboard-proxy", "dbctl", "disable", "enable",
                     "helm", "helm3", "images", "inspect", "istioctl", "join", "kubectl", "leave", "linkerd",
                     "refresh-certs", "remove-node", "reset", "start", "status", "stop", "version"],
        "services": {"daemon-apiserver-kicker": "simple", "daemon-apiserver-proxy": "simple",
                     "daemon-cluster-agent": "simple", "daemon-containerd": "notify", "daemon-etcd": "simple",
                     "daemon-flanneld": "simple", "daemon-k8s-dqlite": "simple", "daemon-kubelite": "simple"},
        # services that MicroK8s 1.33 keeps disabled (set_service_not_expected_to_start in its install hook)
        "services-off": ["daemon-apiserver-proxy", "daemon-etcd", "daemon-flanneld"],
        "tracks": ["latest", "1.35", "1.35-strict", "1.34", "1.34-strict", "1.33", "1.33-strict",
                   "1.32", "1.31", "1.30", "1.29", "1.28"],
        "channels": _microk8s_channels(),
    },
    "helm": {
        "summary": "The Kubernetes package manager",
        "publisher": ("snapcrafters", "Snapcrafters", "starred"),
        "snap-id": "QiOGdCCiApEdhGjwBDv4e6WmCcFyM9nX",
        "contact": "https://github.com/snapcrafters/helm/issues",
        "license": "Apache-2.0",
        "confinement": "classic", "type": "app", "base": "core22",
        "description": ["Helm is the best way to find, share, and use software built for Kubernetes."],
        "commands": [], "services": {}, "services-off": [],
        # The snapcrafters helm snap: latest follows the newest major (Helm 4 since November 2025), track 3 keeps
        # Helm 3 (snapcrafters/helm's branch "3" releases to 3/candidate and 3/stable), track 4 Helm 4. The versions
        # are those of the real binaries the lab builds, which the stand-in links.
        "tracks": ["latest", "4", "3"],
        "channels": dict(
            [("%s/%s" % (track, r), {"version": version, "revision": rev + i, "released": released,
                                     "size": 17000000})
             for track, version, rev, released in (("latest", "4.3.2", 640, "2026-11-12"),
                                                   ("4", "4.3.2", 640, "2026-11-12"),
                                                   ("3", "3.21.4", 620, "2026-09-09"))
             for i, r in enumerate(RISKS)]),
    },
    "core20": {
        "summary": "Runtime environment based on Ubuntu 20.04",
        "publisher": ("canonical", "Canonical", "verified"),
        "snap-id": "DLqre5XGLbDqg9jPtiAhRRjDuPVa5X1q",
        "contact": "https://github.com/snapcore/core20/issues",
        "license": "unset", "confinement": "strict", "type": "base", "base": "",
        "description": ["The base snap based on the Ubuntu 20.04 release."],
        "commands": [], "services": {}, "services-off": [], "tracks": ["latest"],
        "channels": {"latest/%s" % r: {"version": "20250526", "revision": 2582 + i, "released": "2025-05-26",
                                       "size": 67000000} for i, r in enumerate(RISKS)},
    },
    "core22": {
        "summary": "Runtime environment based on Ubuntu 22.04",
        "publisher": ("canonical", "Canonical", "verified"),
        "snap-id": "amcUKQILKXHHTlmSa7NMdnXSx02dNeeT",
        "contact": "https://github.com/snapcore/core-base/issues",
        "license": "unset", "confinement": "strict", "type": "base", "base": "",
        "description": ["The base snap based on the Ubuntu 22.04 release."],
        "commands": [], "services": {}, "services-off": [], "tracks": ["latest"],
        "channels": {"latest/%s" % r: {"version": "20250528", "revision": 2010 + i, "released": "2025-05-28",
                                       "size": 77000000} for i, r in enumerate(RISKS)},
    },
    "snapd": {
        "summary": "Daemon and tooling that enable snap packages",
        "publisher": ("canonical", "Canonical", "verified"),
        "snap-id": "PMrrV4ml8uWuEUDBT8dSGnKUYbevVhc4",
        "contact": "https://github.com/snapcore/snapd/issues",
        "license": "GPL-3.0", "confinement": "strict", "type": "snapd", "base": "",
        "description": ["Install, configure, refresh and remove snap packages."],
        "commands": [], "services": {}, "services-off": [], "tracks": ["latest"],
        "channels": {"latest/%s" % r: {"version": "2.68.5", "revision": 24718 + i, "released": "2025-06-04",
                                       "size": 50000000} for i, r in enumerate(RISKS)},
    },
}


# ---- Go doc.ToText (tables: common.tabwrite), as snap's output relies on them ------------------------
def _wrap_words(words, width):
    """go/doc/comment's wrap(): least total weight, where a line weighs the square of its unused
    width plus 64 unless it ends in punctuation; overlong lines are minimised first."""
    total = [0]
    for word in words:
        total.append(total[-1] + len(word) + 1)
    n = len(words)

    def weight(i, j):
        length = total[j] - 1 - total[i]
        if j == n and length <= width:
            return (0, 0)
        penalty = 0 if words[j - 1][-1] in ".,:;" else 64
        value = (width - length) ** 2
        return (value, penalty) if length > width else (0, value + penalty)

    best = [(0, 0)] + [None] * n
    left = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j):
            w = weight(i, j)
            cand = (best[i][0] + w[0], best[i][1] + w[1])
            if best[j] is None or cand < best[j]:
                best[j], left[j] = cand, i
    seq, j = [], n
    while j > 0:
        seq.append(j)
        j = left[j]
    seq.append(0)
    seq.reverse()
    return [" ".join(words[seq[k]:seq[k + 1]]) for k in range(len(seq) - 1)]


def fill(para, indent):
    """snap's fill(): doc.ToText with an indent prefix, wrapped to the terminal width, trimmed."""
    width = _term_width()
    if width > 100:
        width = 100
    width -= 1
    prefix = " " * indent
    lines = para.split("\n")
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "":
            i += 1
            continue
        if lines[i][:1] in (" ", "\t"):
            code = []
            while i < len(lines) and (lines[i].strip() == "" or lines[i][:1] in (" ", "\t")):
                code.append(lines[i])
                i += 1
            while code and code[-1].strip() == "":
                code.pop()
            common = min(len(c) - len(c.lstrip()) for c in code if c.strip())
            blocks.append(("code", [c[common:] for c in code]))
        else:
            para_lines = []
            while i < len(lines) and lines[i].strip() and lines[i][:1] not in (" ", "\t"):
                para_lines.append(lines[i])
                i += 1
            blocks.append(("text", " ".join(para_lines).split()))
    out = []
    for k, (kind, content) in enumerate(blocks):
        if k > 0:
            out.append("")
        if kind == "code":
            out.extend(prefix + c if c else "" for c in content)
        else:
            out.extend(prefix + line for line in _wrap_words(content, width - indent))
    # doc.ToText's writeNL trims trailing blanks from every line
    return "\n".join(line.rstrip(" \t") for line in out).strip()


def _term_width():
    width = 0
    if sys.stdout.isatty():
        try:
            width = os.get_terminal_size(sys.stdout.fileno()).columns
        except OSError:
            width = 0
    if width <= 0:
        try:
            width = int(os.environ.get("COLUMNS", "0"))
        except ValueError:
            width = 0
    return 80 if width < 40 else width


def escapes():
    """snap's unicode=auto: the verified tick is a Unicode mark only on a UTF-8 terminal."""
    if sys.stdout.isatty():
        lang = ""
        for key in ("LC_MESSAGES", "LC_ALL", "LANG"):
            lang = os.environ.get(key, "")
            if lang:
                break
        if "UTF-8" in lang.upper() or "UTF8" in lang.upper():
            return {"tick": "\u2713", "star": "\u272a", "dash": "\u2013", "up": "\u2191"}
    return {"tick": "**", "star": "*", "dash": "--", "up": "^"}


def short_publisher(pub, esc):
    if not pub:
        return "-"
    username, _display, validation = pub
    return username + {"verified": esc["tick"], "starred": esc["star"]}.get(validation, "")


def long_publisher(pub, esc):
    if not pub:
        return esc["dash"]
    username, display, validation = pub
    badge = {"verified": esc["tick"], "starred": esc["star"]}.get(validation, "")
    if username.replace("-", " ").lower() == display.lower():
        return display + badge
    return "%s (%s%s)" % (display, username, badge)


def fmt_size(size):
    """snapd's strutil.SizeToStr (SI units)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB", "EB"):
        if value < 1000:
            return "%d%s" % (value, unit)
        value /= 1000
    return "%dEB" % value


def human_time(epoch):
    """snap's default (non --abs-time) time format: today/yesterday/N days ago at HH:MM TZ."""
    then = datetime.datetime.fromtimestamp(epoch).astimezone()
    today = datetime.datetime.fromtimestamp(now()).astimezone().date()
    days = (today - then.date()).days
    clock = then.strftime("%H:%M %Z")
    if days == 0:
        return "today at " + clock
    if days == 1:
        return "yesterday at " + clock
    if days == -1:
        return "tomorrow at " + clock
    if 1 < days < 7:
        return "%d days ago, at %s" % (days, clock)
    if -7 < days < -1:
        return "in %d days, at %s" % (-days, clock)
    return then.strftime("%Y-%m-%d")


def rfc3339(epoch):
    return datetime.datetime.fromtimestamp(epoch).astimezone().replace(microsecond=0).isoformat()


# ---- state -----------------------------------------------------------------------------------
class State:
    def __init__(self):
        try:
            os.makedirs(os.path.dirname(STATE_FILE), exist_ok=True)
            self._lock = open(STATE_FILE + ".lock", "a")
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        except OSError:
            self._lock = None  # unprivileged callers only read (list, info, get, services, ...)
        try:
            with open(STATE_FILE) as handle:
                self.data = json.load(handle)
        except (OSError, ValueError):
            self.data = {}
        self.data.setdefault("snaps", {})
        self.data.setdefault("assertions", [])
        self.data.setdefault("config", {})
        self.data.setdefault("changes", [])
        self.data.setdefault("aliases", {})
        self.data.setdefault("auto-refresh-hold", None)

    @property
    def snaps(self):
        return self.data["snaps"]

    def release(self):
        """Give up the state lock (for a command that only waits from here on)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def save(self):
        tmp = STATE_FILE + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(self.data, handle, indent=1, sort_keys=True)
        os.replace(tmp, STATE_FILE)

    def change(self, kind, summary):
        ident = str(len(self.data["changes"]) + 1)
        stamp = now()
        self.data["changes"].append({"id": ident, "status": "Done", "spawn": stamp, "ready": stamp,
                                     "kind": kind, "summary": summary})


# ---- channels ----------------------------------------------------------------------------------
def parse_channel(text):
    """snap/channel.ParseVerbatim + Clean: returns (track, risk, branch) or raises SnapError."""
    if text == "":
        raise SnapError("cannot parse channel: channel name cannot be empty")
    parts = text.split("/")
    track = risk = branch = None
    if len(parts) > 3:
        raise SnapError("cannot parse channel: channel name has too many components: %s" % text)
    if len(parts) == 3:
        track, risk, branch = parts
    elif len(parts) == 2:
        if parts[0] in RISKS:
            risk, branch = parts
        else:
            track, risk = parts
    elif parts[0] in RISKS:
        risk = parts[0]
    else:
        track = parts[0]
    if risk is not None and risk not in RISKS:
        raise SnapError("cannot parse channel: invalid risk in channel name: %s" % text)
    if track is not None and track == "":
        raise SnapError("cannot parse channel: invalid track in channel name: %s" % text)
    if branch is not None and branch == "":
        raise SnapError("cannot parse channel: invalid branch in channel name: %s" % text)
    return (track or "latest", risk or "stable", branch or "")


def channel_name(track, risk, branch=""):
    """channel.Name: the short form ("stable" for latest/stable)."""
    name = risk if track == "latest" else "%s/%s" % (track, risk)
    return name + ("/" + branch if branch else "")


def channel_full(track, risk, branch=""):
    return "%s/%s" % (track, risk) + ("/" + branch if branch else "")


def resolve(name, channel_text, action):
    entry = CATALOG[name]
    track, risk, branch = parse_channel(channel_text or "stable")
    full = channel_full(track, risk)
    if branch:
        if full in entry["channels"]:
            raise SnapError(fill('requested a non-existing branch on %s for snap "%s": %s' % (full, name, branch), 7))
        raise SnapError(fill('requested a non-existing branch for snap "%s": %s'
                             % (name, channel_full(track, risk, branch)), 7))
    if full in entry["channels"]:
        return track, risk, entry["channels"][full]
    # snapRevisionNotAvailableMessage(): which releases match the request partly?
    same_track = [c for c in entry["channels"] if c.split("/")[0] == track]
    same_risk = [c for c in entry["channels"] if c.split("/")[1] == risk]
    more_info = "Get more information with 'snap info %s'." % name
    if same_track:
        rows = []
        for chan in same_track:
            t, r = chan.split("/")
            option = "--channel=%s" % channel_name(t, r) if not (t == "latest") else "--%s" % r
            rows.append("%s\tsnap %s %s %s" % (channel_name(t, r), action, option, name))
        msg = 'snap "%s" is not available on %s but is available to install on the following channels:\n' % (
            name, channel_name(track, risk))
        msg += "\n".join("  " + line for line in tabwrite(rows, len("candidate") + 2, 2)) + "\n"
        if risk == "stable":
            msg += "\nPlease be mindful pre-release channels may include features not completely tested or implemented."
        msg += "\n" + more_info
        raise SnapError(fill(msg, 7))
    if same_risk:
        rows = []
        for track_name in entry["tracks"]:
            chan = "%s/%s" % (track_name, risk)
            if chan not in same_risk:
                continue
            if risk == "stable":
                option = "--channel=%s" % track_name if track_name != "latest" else "--stable"
            else:
                option = "--channel=%s" % chan
            rows.append("%s\tsnap %s %s %s" % (chan, action, option, name))
        msg = 'snap "%s" is not available on %s but is available to install on the following tracks:\n' % (
            name, full)
        msg += "\n".join("  " + line for line in tabwrite(rows, len("candidate") + 2, 2))
        msg += "\n\nPlease be mindful that different tracks may include different features.\n" + more_info
        raise SnapError(fill(msg, 7))
    msg = 'snap "%s" is not available on %s but other tracks exist.\n' % (name, full)
    msg += "\n\nPlease be mindful that different tracks may include different features.\n" + more_info
    raise SnapError(fill(msg, 7))


# ---- filesystem layout of an installed snap -----------------------------------------------------
def microk8s_standin():
    for candidate in (os.environ.get("KAAPANA_LAB_STANDIN_MICROK8S"),
                      os.path.join(os.path.dirname(os.path.realpath(__file__)), "microk8s"),
                      "/usr/lib/kaapana-lab/standins/microk8s"):
        if candidate and os.path.isfile(candidate):
            return os.path.abspath(candidate)
    return "/usr/lib/kaapana-lab/standins/microk8s"


def helm_major(info):
    """The Helm major of an installed helm snap, from its version."""
    return int(str((info or {}).get("version") or "4").split(".", maxsplit=1)[0] or 4)


def app_target(name, app, info=None):
    if name == "microk8s":
        return microk8s_standin()
    if name == "helm":
        return helm_bin(helm_major(info))
    return None


def command_names(name):
    entry = CATALOG.get(name, {})
    if name == "microk8s":
        return ["microk8s"] + ["microk8s." + c for c in entry["commands"]]
    if name == "helm":
        return ["helm"]
    return []


def _symlink(target, link):
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(target, link)


def _snap_yaml(name, info):
    entry = CATALOG.get(name, {})
    lines = ["name: %s" % name, "version: %s" % info["version"], "summary: %s" % entry.get("summary", ""),
             "confinement: %s" % info.get("confinement", "strict"), "grade: stable",
             "type: %s" % entry.get("type", "app")]
    if entry.get("base"):
        lines.append("base: %s" % entry["base"])
    lines.append("# kaapana lab stand-in: no squashfs is mounted here")
    return "\n".join(lines) + "\n"


def lay_out(name, info, previous_revision=None):
    rev = str(info["revision"])
    snap_dir = P("/snap/%s/%s" % (name, rev))
    os.makedirs(os.path.join(snap_dir, "meta"), exist_ok=True)
    with open(os.path.join(snap_dir, "meta", "snap.yaml"), "w") as handle:
        handle.write(_snap_yaml(name, info))
    _symlink(rev, P("/snap/%s/current" % name))
    data_dir = P("/var/snap/%s/%s" % (name, rev))
    if previous_revision and previous_revision != rev and os.path.isdir(P("/var/snap/%s/%s" % (name, previous_revision))):
        if not os.path.exists(data_dir):
            shutil.copytree(P("/var/snap/%s/%s" % (name, previous_revision)), data_dir, symlinks=True)
    os.makedirs(data_dir, exist_ok=True)
    os.makedirs(P("/var/snap/%s/common" % name), exist_ok=True)
    _symlink(rev, P("/var/snap/%s/current" % name))
    for command in command_names(name):
        app = command.split(".", 1)[1] if "." in command else name
        target = app_target(name, app, info)
        if target:
            _symlink(target, P("/snap/bin/" + command))
    if name == "helm":
        os.makedirs(os.path.join(snap_dir, "bin"), exist_ok=True)
        _symlink(helm_bin(helm_major(info)), os.path.join(snap_dir, "bin", "helm"))


def remove_layout(name, state):
    for command in command_names(name):
        link = P("/snap/bin/" + command)
        if os.path.lexists(link):
            os.remove(link)
    for alias, app in list(state.data["aliases"].items()):
        if app.split(".")[0] == name:
            link = P("/snap/bin/" + alias)
            if os.path.lexists(link):
                os.remove(link)
            del state.data["aliases"][alias]
    shutil.rmtree(P("/snap/%s" % name), ignore_errors=True)
    shutil.rmtree(P("/var/snap/%s" % name), ignore_errors=True)
    shutil.rmtree(P("/root/snap/%s" % name), ignore_errors=True)


def run_hook(name, hook):
    if name != "microk8s":
        return
    tool = microk8s_standin()
    proc = subprocess.run([sys.executable, tool, "--kaapana-lab-hook", hook], check=False)
    if proc.returncode != 0:
        raise SnapError('cannot perform the following tasks:\n- Run %s hook of "%s" snap if present '
                        "(run hook %s: exit status %d)" % (hook, name, hook, proc.returncode))


def ensure_group(group):
    if ROOT in ("", "/"):
        if subprocess.run(["getent", "group", group], stdout=subprocess.DEVNULL, check=False).returncode != 0:
            subprocess.run(["groupadd", "--system", group], check=False)
        return
    path = P("/etc/group")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    existing = open(path).read() if os.path.exists(path) else ""
    if not any(line.split(":")[0] == group for line in existing.splitlines()):
        gids = [int(line.split(":")[2]) for line in existing.splitlines() if line.count(":") >= 3
                and line.split(":")[2].isdigit()]
        gid = max([g for g in gids if g < 1000] + [900]) + 1
        with open(path, "a") as handle:
            handle.write("%s:x:%d:\n" % (group, gid))


# ---- commands ----------------------------------------------------------------------------------
def path_warning():
    if "/snap/bin" in os.environ.get("PATH", "").split(":"):
        return
    head = "Warning:"
    warn = fill("/snap/bin was not found in your $PATH. If you've not restarted your session since you "
                "installed snapd, try doing that. Please see https://forum.snapcraft.io/t/9469 for more "
                "details.", len(head) + 1)
    sys.stderr.write(head + " " + warn + "\n\n")


def show_done(state, name, action):
    info = state.snaps[name]
    chan = ""
    if info.get("channel"):
        track, risk, branch = parse_channel(info["channel"])
        short = channel_name(track, risk, branch)
        if short != "stable":
            chan = " (%s)" % short
    pub = CATALOG.get(name, {}).get("publisher") if info.get("publisher", True) else None
    if pub:
        print("%s%s %s from %s %s" % (name, chan, info["version"], long_publisher(pub, escapes()), action))
    else:
        print("%s%s %s %s" % (name, chan, info["version"], action))


def install_prerequisites(state, name):
    entry = CATALOG[name]
    for dep in ([entry["base"]] if entry.get("base") else []) + ["snapd"]:
        if dep and dep not in state.snaps and dep != name:
            _track, _risk, release = resolve(dep, "stable", "install")
            state.snaps[dep] = new_snap_record(dep, release, "latest/stable")
            lay_out(dep, state.snaps[dep])


def new_snap_record(name, release, channel, local=False, publisher=True):
    entry = CATALOG.get(name, {})
    return {
        "version": release["version"], "revision": str(release["revision"]), "channel": channel,
        "confinement": release.get("confinement", entry.get("confinement", "strict")),
        "type": entry.get("type", "app"), "installed": now(), "size": release.get("size", 0),
        "hold": None, "local": local, "publisher": publisher, "enabled": True,
        # services MicroK8s does not expect to start (no-<svc> locks) are enabled but exit at once
        "services": {svc: {"enabled": True, "active": svc not in entry.get("services-off", [])}
                     for svc in entry.get("services", {})},
    }


def cmd_install(state, opts, names):
    if not names:
        raise SnapError("the required argument `<snap>` was not provided")
    if opts.get("channel") and len(names) > 1:
        raise SnapError("a single snap name is needed to specify channel flags")
    local = [n for n in names if n.endswith(".snap") or "/" in n]
    if local and len(local) != len(names):
        raise SnapError("cannot install local and store snaps at the same time")
    for name in names:
        if name in local:
            install_local(state, opts, name)
        else:
            install_store(state, opts, name)


def install_store(state, opts, name):
    if name not in CATALOG:
        raise SnapError('snap "%s" not found' % name)
    if name in state.snaps:
        sys.stderr.write("snap \"%s\" is already installed, see 'snap help refresh'\n" % name)
        return
    track, risk, release = resolve(name, opts.get("channel") or "stable", "install")
    confinement = release.get("confinement", CATALOG[name]["confinement"])
    if confinement == "classic" and not opts.get("classic"):
        raise SnapError(fill(
            '\nThis revision of snap "%s" was published using classic confinement and thus may\n'
            "perform arbitrary system changes outside of the security sandbox that snaps are\n"
            "usually confined to, which may put your system at risk.\n\n"
            "If you understand and want to proceed repeat the command including --classic.\n" % name, 7))
    install_prerequisites(state, name)
    state.snaps[name] = new_snap_record(name, release, "%s/%s" % (track, risk))
    finish_install(state, name, opts)


def finish_install(state, name, opts):
    if name == "microk8s":
        ensure_group("microk8s")
    lay_out(name, state.snaps[name])
    state.save()
    try:
        run_hook(name, "install")
    except SnapError:
        remove_layout(name, state)
        del state.snaps[name]
        state.save()
        raise
    state.change("install-snap", 'Install "%s" snap' % name)
    state.save()
    path_warning()
    if opts.get("classic") and state.snaps[name]["confinement"] != "classic":
        head = "Warning:"
        sys.stderr.write(head + " " + fill("flag --classic ignored for strictly confined snap %s" % name,
                                           len(head) + 1) + "\n\n")
    show_done(state, name, "installed")


def _read_assertion_headers(text):
    records, current = [], {}
    for line in text.splitlines():
        if line.startswith("type: ") and current:
            records.append(current)
            current = {}
        match = re.match(r"^([a-z0-9-]+): (.*)$", line)
        if match:
            current.setdefault(match.group(1), match.group(2).strip())
    if current:
        records.append(current)
    return records


def cmd_ack(state, opts, args):
    if not args:
        raise SnapError("the required argument `<assertion file>` was not provided")
    if len(args) > 1:
        raise SnapError("too many arguments for command")
    path = args[0]
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8", "replace")
    except OSError as err:
        raise SnapError("cannot assert: open %s: %s" % (path, (err.strerror or str(err)).lower()))
    records = _read_assertion_headers(text)
    entry = {"file": os.path.basename(path), "names": [], "revisions": [], "snap-ids": []}
    for record in records:
        if record.get("snap-name"):
            entry["names"].append(record["snap-name"])
        if record.get("snap-revision"):
            entry["revisions"].append(record["snap-revision"])
        if record.get("snap-id"):
            entry["snap-ids"].append(record["snap-id"])
    if not records and not text.strip():
        raise SnapError("cannot assert: assertion content/signature separator not found")
    state.data["assertions"].append(entry)
    state.save()


def _local_snap_identity(path):
    base = os.path.basename(path)
    stem = base[:-5] if base.endswith(".snap") else base
    match = re.match(r"^([a-z0-9][a-z0-9-]*?)(?:_(x?\d+))?$", stem)
    name, revision = (match.group(1), match.group(2)) if match else (stem, None)
    version = None
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536).decode("utf-8", "replace")
        for key, value in re.findall(r"^(name|version|revision): *(\S+)", head, re.M):
            if key == "name":
                name = value
            elif key == "version":
                version = value
            elif key == "revision":
                revision = value
    except OSError:
        pass
    return stem, name, revision, version


def install_local(state, opts, path):
    if not os.path.exists(path):
        raise SnapError('cannot open "%s": open %s: no such file or directory' % (path, os.path.abspath(path)))
    stem, name, revision, version = _local_snap_identity(path)
    asserted = None
    for entry in state.data["assertions"]:
        if name in entry["names"] and (not revision or not entry["revisions"] or revision in entry["revisions"]):
            asserted = entry
        elif entry["file"] in (stem + ".assert", name + ".assert") and not entry["names"]:
            asserted = entry
    if not asserted and not opts.get("dangerous"):
        raise SnapError('cannot find signatures with metadata for snap/component "%s"' % path)
    if asserted and asserted["revisions"] and not revision:
        revision = asserted["revisions"][0]
    entry = CATALOG.get(name, {})
    release = None
    for chan in entry.get("channels", {}).values():
        if revision and str(chan["revision"]) == str(revision):
            release = dict(chan)
    if release is None:
        release = dict(entry.get("channels", {}).get("1.33/stable") or
                       entry.get("channels", {}).get("latest/stable") or {"version": "unknown", "size": 0})
    if version:
        release["version"] = version
    if not asserted:
        others = [s["revision"] for s in state.snaps.values() if str(s["revision"]).startswith("x")]
        revision = "x%d" % (len(others) + 1)
    release["revision"] = revision or release.get("revision", "x1")
    confinement = entry.get("confinement", "strict")
    if confinement == "classic" and not opts.get("classic"):
        raise SnapError(fill(
            '\nThis revision of snap "%s" was published using classic confinement and thus may\n'
            "perform arbitrary system changes outside of the security sandbox that snaps are\n"
            "usually confined to, which may put your system at risk.\n\n"
            "If you understand and want to proceed repeat the command including --classic.\n" % name, 7))
    previous = state.snaps.get(name)
    if previous and str(previous["revision"]) == str(release["revision"]):
        # snapd reinstalls the same revision; nothing visible changes
        show_done(state, name, "installed")
        return
    if entry.get("base") and entry["base"] not in state.snaps:
        # offline: the base must have been installed from its own .snap/.assert pair first
        raise SnapError('cannot perform the following tasks:\n- Ensure prerequisites for "%s" are available '
                        '(cannot install snap base "%s": Post "https://api.snapcraft.io/v2/snaps/refresh": '
                        "dial tcp: lookup api.snapcraft.io: no such host)" % (name, entry["base"]))
    record = new_snap_record(name, release, "", local=True, publisher=bool(asserted))
    record["confinement"] = confinement
    if previous:
        record["hold"] = previous.get("hold")
        state.snaps[name] = record
        lay_out(name, record, previous_revision=str(previous["revision"]))
        state.save()
        show_done(state, name, "installed")
        return
    state.snaps[name] = record
    finish_install(state, name, opts)


def cmd_remove(state, opts, names):
    if not names:
        raise SnapError("the required argument `<snap>` was not provided")
    for name in names:
        if name not in state.snaps:
            sys.stderr.write('snap "%s" is not installed\n' % name)
            continue
        if CATALOG.get(name, {}).get("type") in ("base", "snapd") and any(
                CATALOG.get(other, {}).get("base") == name for other in state.snaps if other != name):
            users = [other for other in state.snaps if CATALOG.get(other, {}).get("base") == name]
            raise SnapError('cannot remove "%s": snap "%s" is not removable: snap is being used by snap %s.'
                            % (name, name, ", ".join(users)))
        try:
            run_hook(name, "remove")
        except SnapError as err:
            sys.stderr.write("WARNING: %s\n" % err)
        remove_layout(name, state)
        del state.snaps[name]
        state.change("remove-snap", 'Remove "%s" snap' % name)
        state.save()
        if opts.get("purge"):
            print("%s removed" % name)
        else:
            print("%s removed (snap data snapshot saved)" % name)


def cmd_list(state, opts, names):
    if not state.snaps:
        if names:
            raise SnapError("no matching snaps installed")
        sys.stderr.write("No snaps are installed yet. Try 'snap install hello-world'.\n")
        return
    selected = sorted(n for n in state.snaps if not names or n in names)
    if not selected:
        raise SnapError("no matching snaps installed")
    esc = escapes()
    rows = ["Name\tVersion\tRev\tTracking\tPublisher\tNotes"]
    for name in selected:
        info = state.snaps[name]
        rows.append("\t".join([name, info["version"] or "-", str(info["revision"]),
                               fmt_tracking(info.get("channel", "")),
                               short_publisher(CATALOG.get(name, {}).get("publisher") if info.get("publisher", True)
                                               else None, esc),
                               notes(info)]))
    print("\n".join(tabwrite(rows, 5, 2)))


def fmt_tracking(chan):
    if not chan:
        return "-"
    if chan.count("/") != 2:
        return chan
    return chan[:chan.rfind("/") + 1] + "\u2026"


def held(info):
    hold = info.get("hold")
    return hold is not None and (hold == "forever" or float(hold) > now())


def notes(info):
    parts = []
    if info.get("type") == "os":
        parts.append("core")
    elif info.get("type") not in (None, "", "app"):
        parts.append(info["type"])
    if not info.get("enabled", True):
        parts.append("disabled")
    if info.get("confinement") == "classic":
        parts.append("classic")
    if held(info):
        parts.append("held")
    return ",".join(parts) or "-"


def cmd_info(state, opts, names):
    if not names:
        raise SnapError("the required argument `<snap>` was not provided")
    esc = escapes()
    out = []
    any_ok = False
    for index, name in enumerate(names):
        if index > 0:
            out.append("---")
        if name == "system":
            out.append("system: You can't have it.")
            continue
        entry = CATALOG.get(name)
        local = state.snaps.get(name)
        if entry is None and local is None:
            if len(names) == 1:
                raise SnapError('no snap found for "%s"' % name)
            out.append('warning:\tno snap found for "%s"' % name)
            continue
        any_ok = True
        out.extend(info_lines(name, entry or {}, local, esc, opts))
    if out:
        print("\n".join(out))
    if not any_ok:
        raise SnapError("no valid snaps given")


def info_lines(name, entry, local, esc, opts):
    block = ["name:\t%s" % name, "summary:\t%s" % entry.get("summary", ""),
             "publisher:\t%s" % long_publisher(entry.get("publisher"), esc)]
    block.append("store-url:\thttps://snapcraft.io/%s" % name)
    if entry.get("contact"):
        block.append("contact:\t%s" % entry["contact"])
    block.append("license:\t%s" % entry.get("license", "unset"))
    block.append("description: |")
    block.extend("  " + line for line in entry.get("description", []))
    if local and name == "microk8s":
        block.append("commands:")
        apps = sorted(entry.get("commands", []) + ["microk8s"])
        block.extend("  - %s" % ("microk8s" if app == "microk8s" else "microk8s." + app) for app in apps)
        block.append("services:")
        for svc, daemon in sorted(entry.get("services", {}).items()):
            status = local.get("services", {}).get(svc, {})
            block.append("  microk8s.%s:\t%s, %s, %s" % (svc, daemon,
                                                         "enabled" if status.get("enabled") else "disabled",
                                                         "active" if status.get("active") else "inactive"))
    elif local and name == "helm":
        block.append("commands:")
        block.append("  - helm")
    if opts.get("verbose") and local:
        block.append("notes:\t")
        block.append("  private:\tfalse")
        block.append("  confinement:\t%s" % local.get("confinement"))
        block.append("  devmode:\tfalse")
        block.append("  jailmode:\tfalse")
        block.append("  trymode:\tfalse")
        block.append("  enabled:\t%s" % ("true" if local.get("enabled", True) else "false"))
        block.append("  broken:\tfalse")
        block.append("  ignore-validation:\tfalse")
    out = tabwrite(block, 2, 1)
    block = []
    if entry.get("type") not in (None, "", "app"):
        block.append("type:\t%s" % entry["type"])
    if opts.get("verbose") and entry.get("base"):
        block.append("base:\t%s" % entry["base"])
    block.append("snap-id:\t%s" % entry.get("snap-id", ""))
    if local and local.get("channel"):
        block.append("tracking:\t%s" % local["channel"])
    if local:
        when = local.get("installed")
        block.append("refresh-date:\t%s" % (rfc3339(when) if opts.get("abs-time") else human_time(when)))
        if held(local):
            hold = local["hold"]
            block.append("hold:\t%s" % ("forever" if hold == "forever" or float(hold) > now() + 100 * 365 * 86400
                                        else (rfc3339(float(hold)) if opts.get("abs-time") else human_time(float(hold)))))
    out += tabwrite(block, 2, 1)
    channels = []
    max_rev = max_size = 0
    for track in entry.get("tracks", []):
        for risk in RISKS:
            chan = entry["channels"].get("%s/%s" % (track, risk))
            if chan:
                rev, size = "(%s)" % chan["revision"], fmt_size(chan["size"])
                max_rev, max_size = max(max_rev, len(rev)), max(max_size, len(size))
                note = "classic" if chan.get("confinement", entry.get("confinement")) == "classic" else "-"
                if entry.get("type") in ("base", "snapd"):
                    note = entry["type"]
                channels.append(["  ", "%s/%s" % (track, risk), chan["version"], chan["released"], rev, size, note])
    if local:
        rev, size = "(%s)" % local["revision"], fmt_size(local.get("size", 0))
        max_rev, max_size = max(max_rev, len(rev)), max(max_size, len(size))
        channels.append(["", "installed", local["version"], "", rev, size, notes(local)])
    lines = ["channels:"] if any(c[0] for c in channels) else []
    for indent, cname, version, released, rev, size, note in channels:
        lines.append("%s%s:\t%s\t%s\t%s\t%s\t%s" % (indent, cname, version, released, rev.rjust(max_rev),
                                                    size.rjust(max_size), note))
    out += tabwrite(lines, 2, 1)
    return out


def parse_hold(value):
    if value == "forever":
        return "forever"
    match = re.fullmatch(r"((?:\d+(?:\.\d+)?(?:ns|us|\u00b5s|ms|s|m|h))+)", value or "")
    if not match:
        raise SnapError('hold value must be a number of hours, minutes or seconds, or "forever": '
                        'time: invalid duration "%s"' % value)
    seconds = 0.0
    units = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)", value):
        seconds += float(number) * units[unit]
    if seconds < 1:
        raise SnapError("cannot hold refreshes for less than a second: %s" % value)
    return now() + seconds


def quoted(names):
    return ", ".join('"%s"' % n for n in names)


def cmd_refresh(state, opts, names):
    other = opts.get("list") or opts.get("time") or opts.get("channel")
    if opts.get("hold") is not None:
        if opts.get("unhold") or other:
            raise SnapError("cannot use --hold with other flags")
        until = parse_hold(opts["hold"])
        for name in names:
            if name not in state.snaps:
                raise SnapError('snap "%s" is not installed' % name)
        if names:
            for name in names:
                state.snaps[name]["hold"] = until
        else:
            state.data["auto-refresh-hold"] = until
        state.change("hold-refreshes", "Hold general refreshes for %s" % quoted(names) if names
                     else "Hold auto-refreshes")
        state.save()
        when = "indefinitely" if until == "forever" else "until %s" % rfc3339(until)
        if names:
            print("General refreshes of %s held %s" % (quoted(names), when))
        else:
            print("Auto-refresh of all snaps held %s" % when)
        return
    if opts.get("unhold"):
        if other:
            raise SnapError("cannot use --unhold with other flags")
        for name in names:
            if name not in state.snaps:
                raise SnapError('snap "%s" is not installed' % name)
            state.snaps[name]["hold"] = None
        if not names:
            state.data["auto-refresh-hold"] = None
        state.change("unhold-refreshes", "Remove refresh hold")
        state.save()
        if names:
            print("Removed general refresh hold of %s" % quoted(names))
        else:
            print("Removed auto-refresh hold on all snaps")
        return
    if opts.get("list"):
        if names:
            raise SnapError("--list does not accept additional arguments")
        sys.stderr.write("All snaps up to date.\n")
        return
    if opts.get("time"):
        print("timer: 00:00~24:00/4")
        print("last: %s" % human_time(now() - 3600))
        hold = state.data.get("auto-refresh-hold")
        if hold and (hold == "forever" or float(hold) > now()):
            print("hold: %s" % ("forever" if hold == "forever" else human_time(float(hold))))
            print("next: %s (but held)" % human_time(now() + 4 * 3600))
        else:
            print("next: %s" % human_time(now() + 4 * 3600))
        return
    if not names:
        sys.stderr.write("All snaps up to date.\n")
        return
    if opts.get("channel") and len(names) > 1:
        raise SnapError("a single snap name is needed to specify mode or channel flags")
    for name in names:
        if name not in state.snaps:
            raise SnapError('snap "%s" is not installed' % name)
        info = state.snaps[name]
        if info.get("local") and not opts.get("channel"):
            sys.stderr.write('snap "%s" has no updates available\n' % name)
            continue
        if info.get("local") and opts.get("channel") and not opts.get("amend"):
            raise SnapError('local snap "%s" is unknown to the store, use --amend to proceed anyway' % name)
        wanted = opts.get("channel") or info.get("channel") or "stable"
        track, risk, release = resolve(name, wanted, "refresh")
        new_channel = "%s/%s" % (track, risk)
        if str(release["revision"]) == str(info["revision"]) and new_channel == info.get("channel"):
            sys.stderr.write('snap "%s" has no updates available\n' % name)
            continue
        previous = str(info["revision"])
        # snapd's refresh change (overlord/snapstate): stop the snap's services, link the new revision, run the
        # post-refresh hook, start the services again. MicroK8s' kubelite is down in between: its Node stops
        # posting status and comes back with the new revision's kubelet version (microk8s stand-in hooks).
        active = [svc for svc, status in info.get("services", {}).items() if status.get("active")]
        if active:
            run_hook(name, "services-stopped")
        info.update({"version": release["version"], "revision": str(release["revision"]),
                     "channel": new_channel, "installed": now(), "size": release.get("size", 0), "local": False})
        lay_out(name, info, previous_revision=previous)
        if previous != info["revision"]:
            shutil.rmtree(P("/snap/%s/%s" % (name, previous)), ignore_errors=True)
        state.change("refresh-snap", 'Refresh "%s" snap from "%s" channel' % (name, new_channel))
        state.save()
        try:
            run_hook(name, "post-refresh")
        except SnapError as err:
            sys.stderr.write("WARNING: %s\n" % err)
        if active:
            run_hook(name, "services-started")
        show_done(state, name, "refreshed")


# ---- configuration -------------------------------------------------------------------------------
def _conf_root(state, snap):
    key = "core" if snap in ("system", "core") else snap
    return key, state.data["config"].setdefault(key, {})


def _conf_get(tree, dotted):
    node = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def cmd_set(state, opts, args):
    if len(args) < 2:
        raise SnapError("the required argument `<conf value>` was not provided")
    snap, pairs = args[0], args[1:]
    if snap not in ("system", "core") and snap not in state.snaps:
        raise SnapError('snap "%s" is not installed' % snap)
    patch = {}
    for pair in pairs:
        if pair.endswith("!") and "=" not in pair:
            patch[pair[:-1]] = None
        elif "=" in pair:
            path, value = pair.split("=", 1)
            if opts.get("typed"):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            patch[path] = value
        else:
            raise SnapError('invalid configuration: "%s" (want key=value)' % pair)
    _conf_patch(state, snap, patch)


def _conf_patch(state, snap, patch):
    """What snapd does with PUT /v2/snaps/<snap>/conf ({"dotted.key": value, "unset.key": null}, the body `snap set`
    sends): validate every key, apply, record a configure-snap change; returns the change id."""
    _key, tree = _conf_root(state, snap)
    for path in patch:
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*", path):
            raise SnapError('invalid option name: "%s"' % path)
    for path, value in patch.items():
        parts = path.split(".")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SnapError('snap "%s" option "%s" is not a map' % (snap, part))
        if value is None:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = value
    state.change("configure-snap", 'Change configuration of "%s" snap' % ("core" if snap == "system" else snap))
    state.save()
    return state.data["changes"][-1]["id"]


def cmd_unset(state, opts, args):
    if len(args) < 2:
        raise SnapError("the required argument `<conf key>` was not provided")
    cmd_set(state, opts, [args[0]] + [k + "!" for k in args[1:]])


def _flatten(prefix, value):
    if isinstance(value, dict):
        out = []
        for key in sorted(value):
            out.extend(_flatten("%s.%s" % (prefix, key) if prefix else key, value[key]))
        return out
    return [(prefix, value)]


def _go_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "{...}" if isinstance(value, dict) else "[...]"
    return str(value)


def cmd_get(state, opts, args):
    if not args:
        raise SnapError("the required argument `<snap>` was not provided")
    snap, keys = args[0], args[1:]
    if snap not in ("system", "core") and snap not in state.snaps:
        raise SnapError('snap "%s" not found' % snap)
    conf_name, tree = _conf_root(state, snap)
    if not keys:
        conf = dict(tree.items())
    else:
        conf = {}
        for key in keys:
            value = _conf_get(tree, key)
            if value is None:
                raise SnapError('snap "%s" has no "%s" configuration option' % (conf_name, key))
            conf[key] = value
    if not keys and not conf:
        raise SnapError('snap "%s" has no configuration' % snap)
    if opts.get("document"):
        print(json.dumps(conf, indent="\t", sort_keys=True))
        return
    if opts.get("list"):
        _print_conf_list(conf, keys)
        return
    to_print = conf
    if len(keys) == 1 and not isinstance(conf[keys[0]], dict):
        to_print = conf[keys[0]]
    if isinstance(to_print, dict):
        if sys.stdout.isatty():
            _print_conf_list(to_print, keys)
            return
        sys.stderr.write("WARNING: The output of 'snap get' will become a list with columns - use -d or -l "
                         "to force the output format.\n")
        print(json.dumps(to_print, indent="\t", sort_keys=True))
        return
    if isinstance(to_print, str) and not opts.get("typed"):
        print(to_print)
        return
    print(json.dumps(to_print, indent="\t", sort_keys=True))


def _print_conf_list(conf, keys):
    rows = ["Key\tValue"]
    for key in sorted(conf):
        value = conf[key]
        if isinstance(value, dict) and keys:
            for sub, subvalue in sorted(value.items()):
                rows.append("%s.%s\t%s" % (key, sub, _go_value(subvalue)))
        else:
            rows.append("%s\t%s" % (key, _go_value(value)))
    print("\n".join(tabwrite(rows, 5, 2)))


def cmd_wait(state, opts, args):
    if len(args) < 1:
        raise SnapError("the required argument `<snap>` was not provided")
    if len(args) < 2:
        raise SnapError("the required argument `<key>` was not provided")
    # seed.loaded: until seeding ends; other keys until they are set (as snap does, polling)
    snap, key = args[0], args[1]
    if snap in ("system", "core") and key == "seed.loaded":
        state.release()  # a waiting `snap wait` holds up no other snap command
        while not seeded():
            time.sleep(0.5)
        return
    deadline = time.time() + float(os.environ.get("KAAPANA_LAB_STANDIN_WAIT_TIMEOUT", "600"))
    while time.time() < deadline:
        _name, tree = _conf_root(state, snap)
        value = _conf_get(tree, key)
        if value not in (None, False, "", 0, [], {}):
            return
        time.sleep(0.5)
        state = State()


# ---- debug api (raw snapd REST API; canonical/snapd cmd/snap/cmd_debug_api.go, daemon/api_*.go) ----------
def _api_error(code, status, message, kind=None):
    result = {"message": message}
    if kind:
        result["kind"] = kind
    return {"type": "error", "status-code": code, "status": status, "result": result}


def _api_sync(result):
    return {"type": "sync", "status-code": 200, "status": "OK", "result": result}


def _api_request(state, method, path, query, body):
    """The endpoints the lab needs: GET/PUT /v2/snaps/<snap>/conf, GET /v2/changes/<id>."""
    match = re.fullmatch(r"/v2/snaps/([^/]+)/conf", path)
    if match:
        snap = match.group(1)
        conf_name = "core" if snap in ("system", "core") else snap
        if snap not in ("system", "core") and snap not in state.snaps:
            return _api_error(404, "Not Found", 'snap "%s" is not installed' % snap, "snap-not-found")
        _key, tree = _conf_root(state, snap)
        if method == "GET":
            keys = [k for k in ",".join(query.get("keys", [])).split(",") if k]
            if not keys:
                return _api_sync(dict(tree))
            result = {}
            for key in keys:
                value = _conf_get(tree, key)
                if value is None:
                    return _api_error(400, "Bad Request", 'snap "%s" has no "%s" configuration option'
                                      % (conf_name, key), "option-not-found")
                result[key] = value
            return _api_sync(result)
        if method == "PUT":
            if os.geteuid() != 0 and ROOT in ("", "/"):
                return _api_error(401, "Unauthorized", "access denied", "login-required")
            if not seeded():
                return _api_error(409, "Conflict", SEED_MESSAGE, "snap-change-conflict")
            try:
                patch = json.loads(body or "null")
            except ValueError as error:
                return _api_error(400, "Bad Request", "cannot decode request body into patch values: %s" % error)
            if not isinstance(patch, dict):
                return _api_error(400, "Bad Request", "cannot decode request body into patch values")
            try:
                change = _conf_patch(state, snap, patch)
            except SnapError as error:
                return _api_error(400, "Bad Request", str(error))
            return {"type": "async", "status-code": 202, "status": "Accepted", "result": None, "change": change}
        return _api_error(405, "Method Not Allowed", "method not allowed")
    match = re.fullmatch(r"/v2/changes/([^/]+)", path)
    if match and method == "GET":
        for change in state.data["changes"]:
            if change["id"] == match.group(1):
                return _api_sync({"id": change["id"], "kind": change["kind"], "summary": change["summary"],
                                  "status": change["status"], "ready": True, "spawn-time": rfc3339(change["spawn"]),
                                  "ready-time": rfc3339(change["ready"]), "tasks": []})
        return _api_error(404, "Not Found", 'cannot find change with id "%s"' % match.group(1))
    return _api_error(404, "Not Found", "not found")


def _go_json(value):
    """Go's json.Encoder with SetIndent("", "  ") over a map: sorted keys, <, > and & escaped, a final newline."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, separators=(",", ": "))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"


def cmd_debug(argv):
    """`snap debug api [-X GET|POST|PUT] [-H 'Name: value']... [--fail] <path-and-query>`: the body of POST and PUT
    is read from stdin (so values such as proxy credentials stay off the command line)."""
    if not argv or argv[0] != "api":
        raise SnapError("unknown command \"%s\", see 'snap help debug'." % (argv[0] if argv else ""))
    method, fail, positional, i = "", False, [], 1
    while i < len(argv):
        arg = argv[i]
        flag, has_value, value = arg.partition("=")
        if flag in ("-X", "--request", "-H", "--header"):
            if not has_value:
                i += 1
                if i >= len(argv):
                    raise SnapError("expected argument for flag `%s'" % flag)
                value = argv[i]
            if flag in ("-X", "--request"):
                method = value
            elif ": " not in value:
                raise SnapError('cannot parse header "%s"' % value)
        elif arg == "--fail":
            fail = True
        elif arg in ("--disable-auth", "--snap-socket"):
            pass
        elif arg.startswith("-") and arg != "-":
            raise SnapError("unknown flag `%s'" % arg.lstrip("-"))
        else:
            positional.append(arg)
        i += 1
    if len(positional) != 1:
        raise SnapError("the required argument `<path-and-query>` was not provided")
    method = method or "GET"
    if method not in ("GET", "POST", "PUT"):
        raise SnapError('unsupported method "%s"' % method)
    body = sys.stdin.read() if method in ("POST", "PUT") else None
    path, _sep, raw_query = positional[0].partition("?")
    query = {}
    for part in raw_query.split("&") if raw_query else []:
        key, _eq, value = part.partition("=")
        query.setdefault(urllib.parse.unquote_plus(key), []).append(urllib.parse.unquote_plus(value))
    response = _api_request(State(), method, path, query, body)
    sys.stdout.write(_go_json(response))
    if fail and response["status-code"] >= 400:
        raise SnapError("request failed with status %d %s" % (response["status-code"], response["status"]))


def cmd_watch(state, opts, args):
    """`snap watch <change-id>`: waits for the change (the lab's changes are done at once); a failed change is an
    error as in snap's wait()."""
    if not args:
        raise SnapError("the required argument `<change-id>` was not provided")
    for change in state.data["changes"]:
        if change["id"] == args[0]:
            if change["status"] == "Error":
                raise SnapError("cannot perform the following tasks:\n- %s" % change["summary"])
            return
    raise SnapError('cannot find change with id "%s"' % args[0])


# ---- services, aliases, changes, version, help --------------------------------------------------
def _service_targets(state, args):
    targets = []
    for arg in args:
        name, dummy, svc = arg.partition(".")
        if name not in state.snaps:
            raise SnapError('snap "%s" not found' % name)
        services = state.snaps[name].get("services", {})
        if svc:
            if svc not in services:
                raise SnapError('snap "%s" has no service "%s"' % (name, svc))
            targets.append((name, svc))
        else:
            targets.extend((name, s) for s in services)
    return targets


def cmd_services(state, opts, args):
    names = args or sorted(state.snaps)
    rows = []
    for name in sorted(set(a.split(".")[0] for a in names)):
        if name not in state.snaps:
            raise SnapError('snap "%s" not found' % name)
        for svc, status in sorted(state.snaps[name].get("services", {}).items()):
            rows.append("%s.%s\t%s\t%s\t-" % (name, svc, "enabled" if status["enabled"] else "disabled",
                                              "active" if status["active"] else "inactive"))
    if not rows:
        sys.stderr.write("There are no services provided by installed snaps.\n")
        return
    print("\n".join(tabwrite(["Service\tStartup\tCurrent\tNotes"] + rows, 5, 2)))


def _set_services(state, opts, args, active, word):
    if not args:
        raise SnapError("the required argument `<service>` was not provided")
    started = set()
    for name, svc in _service_targets(state, args):
        status = state.snaps[name]["services"][svc]
        status["active"] = active and svc not in CATALOG.get(name, {}).get("services-off", [])
        if opts.get("enable"):
            status["enabled"] = True
        if opts.get("disable"):
            status["enabled"] = False
        if status["active"]:
            started.add(name)
    state.save()
    for name in sorted(started):
        run_hook(name, "services-started")  # the started services read their args files (microk8s stand-in)
    print(word)


def cmd_alias(state, opts, args):
    if len(args) != 2:
        raise SnapError("the required argument `<alias>` was not provided")
    app, alias = args
    name = app.split(".")[0]
    if name not in state.snaps or app not in command_names(name):
        raise SnapError('cannot alias "%s" for "%s": target application "%s" does not exist' % (alias, app, app))
    state.data["aliases"][alias] = app
    _symlink(app, P("/snap/bin/" + alias))
    state.save()
    print("Added:\n  - %s as %s" % (app, alias))


def cmd_unalias(state, opts, args):
    if len(args) != 1:
        raise SnapError("the required argument `<alias-or-snap>` was not provided")
    alias = args[0]
    app = state.data["aliases"].pop(alias, None)
    if app is None:
        raise SnapError('cannot find app or alias "%s"' % alias)
    link = P("/snap/bin/" + alias)
    if os.path.lexists(link):
        os.remove(link)
    state.save()
    print("Removed:\n  - %s as %s" % (app, alias))


def cmd_aliases(state, opts, args):
    if not state.data["aliases"]:
        sys.stderr.write("No aliases are currently defined.\n")
        return
    rows = ["Command\tAlias\tNotes"] + ["%s\t%s\tmanual" % (app, alias)
                                        for alias, app in sorted(state.data["aliases"].items())]
    print("\n".join(tabwrite(rows, 5, 2)))


def cmd_changes(state, opts, args):
    changes = state.data["changes"]
    if not changes:
        raise SnapError("no changes found")
    rows = ["ID\tStatus\tSpawn\tReady\tSummary"]
    for change in changes:
        rows.append("%s\t%s\t%s\t%s\t%s" % (change["id"], change["status"], human_time(change["spawn"]),
                                            human_time(change["ready"]), change["summary"]))
    print("\n".join(tabwrite(rows, 5, 2)))


def os_release():
    info = {}
    try:
        with open(P("/etc/os-release")) as handle:
            for line in handle:
                if "=" in line:
                    key, value = line.rstrip("\n").split("=", 1)
                    info[key] = value.strip('"')
    except OSError:
        pass
    return info.get("ID", "debian"), info.get("VERSION_ID", "-")


def cmd_version(state, opts, args):
    osid, osver = os_release()
    rows = ["snap\t%s" % STANDIN_VERSION, "snapd\t%s" % STANDIN_VERSION, "series\t16",
            "%s\t%s" % (osid, osver), "kernel\t%s" % os.uname().release, "architecture\tamd64",
            "stand-in\t%s" % STANDIN_NOTE]
    print("\n".join(tabwrite(rows, 5, 2)))


HELP = """The snap command lets you install, configure, refresh and remove snaps.
Snaps are packages that work across many different Linux distributions,
enabling secure delivery and operation of the latest apps and utilities.

NOTE: this is the kaapana lab STAND-IN for snapd, not the real snapd. It knows the snaps
microk8s, helm, core20, core22 and snapd from a built-in catalogue and never contacts a store.

Usage: snap <command> [<options>...]

Commonly used commands can be classified as follows:

         Basics: find, info, install, remove, list
        ...more: refresh, revert, switch, disable, enable, create-cohort
        History: changes, tasks, abort, watch
        Daemons: services, start, stop, restart, logs
    Permissions: connections, interface, connect, disconnect
  Configuration: get, set, unset, wait
    App Aliases: alias, aliases, unalias, prefer
        Account: login, logout, whoami
      Snapshots: saved, save, check-snapshot, restore, forget
         Device: model, reboot, recovery
      ... Other: warnings, okay, known, ack, version
    Development: download, pack, run, try

For more information about a command, run 'snap help <command>'.
For a short summary of all commands, run 'snap help --all'."""

COMMANDS = {
    "install": cmd_install, "ack": cmd_ack, "remove": cmd_remove, "list": cmd_list, "info": cmd_info,
    "refresh": cmd_refresh, "set": cmd_set, "get": cmd_get, "unset": cmd_unset, "wait": cmd_wait,
    "services": cmd_services, "alias": cmd_alias, "unalias": cmd_unalias, "aliases": cmd_aliases,
    "changes": cmd_changes, "version": cmd_version, "watch": cmd_watch,
    "start": lambda s, o, a: _set_services(s, o, a, True, "Started."),
    "stop": lambda s, o, a: _set_services(s, o, a, False, "Stopped."),
    "restart": lambda s, o, a: _set_services(s, o, a, True, "Restarted."),
}

BOOL_FLAGS = {"classic", "dangerous", "devmode", "jailmode", "purge", "unhold", "list", "time", "verbose",
              "abs-time", "enable", "disable", "typed", "document", "amend", "terminate", "unaliased",
              "stable", "candidate", "beta", "edge", "no-wait", "reload", "all"}
SHORT_FLAGS = {"d": "document", "l": "list", "t": "typed", "v": "verbose"}
VALUE_FLAGS = {"channel", "revision", "name", "cohort", "color", "unicode", "transaction"}


def parse_args(argv):
    opts, positional = {}, []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            positional.extend(argv[i + 1:])
            break
        if arg.startswith("--"):
            key, has_value, value = arg[2:].partition("=")
            if key == "hold":
                opts["hold"] = value if has_value else "forever"
            elif key in VALUE_FLAGS:
                if not has_value:
                    i += 1
                    if i >= len(argv):
                        raise SnapError("expected argument for flag `--%s'" % key)
                    value = argv[i]
                opts[key] = value
            elif key in BOOL_FLAGS:
                opts[key] = True
            elif key == "help":
                opts["help"] = True
            else:
                raise SnapError("unknown flag `%s'" % key)
        elif arg.startswith("-") and len(arg) > 1:
            for ch in arg[1:]:
                if ch == "h":
                    opts["help"] = True
                elif ch in SHORT_FLAGS:
                    opts[SHORT_FLAGS[ch]] = True
                else:
                    raise SnapError("unknown flag `%s'" % ch)
        else:
            positional.append(arg)
        i += 1
    for risk in RISKS:
        if opts.pop(risk, False):
            if opts.get("channel"):
                raise SnapError("please specify a single channel")
            opts["channel"] = risk
    if opts.get("channel"):
        parse_channel(opts["channel"])
    return opts, positional


def main(argv):
    if not argv or argv[0] in ("help", "--help", "-h"):
        print(HELP)
        return 0
    command, rest = argv[0], argv[1:]
    try:
        if command == "--version":
            command = "version"
        if command == "debug":
            cmd_debug(rest)
            return 0
        if command not in COMMANDS:
            raise SnapError("unknown command \"%s\", see 'snap help'." % command)
        opts, positional = parse_args(rest)
        if opts.get("help"):
            print("Usage:\n  snap [OPTIONS] %s [<args>...]\n\n(%s)" % (command, STANDIN_NOTE))
            return 0
        if command in ("install", "remove", "refresh", "ack", "set", "unset", "start", "stop", "restart",
                       "alias", "unalias") and ROOT in ("", "/") and os.geteuid() != 0:
            raise SnapError("access denied (try with sudo)")
        state = State()
        if not seeded() and command in CHANGE_COMMANDS and not (
                command == "refresh" and (opts.get("list") or opts.get("time"))):
            raise SnapError(SEED_MESSAGE)
        COMMANDS[command](state, opts, positional)
    except SnapError as err:
        sys.stderr.write("error: %s\n" % err)
        return 1
    return 0


def run():
    """Entry point of the `snap` executable."""
    run_main(main, sys.argv[1:])
