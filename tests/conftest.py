"""Shared pytest set-up: import path for the collection and the lab fixture."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")

# `ansible_collections.kaapana.platform` resolves to this checkout (linked by scripts/bootstrap.sh).
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
