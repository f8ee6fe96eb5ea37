# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Chart references, the one parser the modules, filters and plugin_utils of the collection share.

``chart_ref_scheme`` tells what a reference is by its scheme (``oci``, ``https``, ...); ``parse_oci_ref`` splits
``[oci://]host[:port]/path/chart[:tag][@digest]``. Neither checks that the parts are well formed: each caller
knows which forms it accepts and says so in its own words.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

OCI_SCHEME = "oci://"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def chart_ref_scheme(chart_ref):
    """The scheme of a chart reference, as written (``oci``, ``https``, ...), or '' when it has none."""
    match = _SCHEME.match(chart_ref or "")
    return match.group(1) if match else ""


def parse_oci_ref(chart_ref):
    """Split ``[oci://]host[:port]/path/chart[:tag][@digest]`` into a dict.

    ``host`` is ``host[:port]``, ``registry`` everything before the chart name (``host[:port]/path``), ``name`` the
    last path element, ``tag`` what follows its ':' and ``digest`` what follows '@'. Absent parts are ''.
    """
    rest = chart_ref or ""
    if rest.startswith(OCI_SCHEME):
        rest = rest[len(OCI_SCHEME):]
    host = rest.split("/", 1)[0]
    rest, _sep, digest = rest.partition("@")
    registry, _sep, last = rest.rstrip("/").rpartition("/")
    name, _sep, tag = last.partition(":")
    return {"host": host, "registry": registry, "name": name, "tag": tag, "digest": digest}
