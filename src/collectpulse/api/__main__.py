"""Write docs/api/openapi.json from the document the exporter serves."""

from __future__ import annotations

import json
from pathlib import Path

from collectpulse.api.openapi import document

OUT = Path(__file__).resolve().parents[3] / "docs" / "api" / "openapi.json"

if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(document(), indent=2) + "\n")
    print(f"wrote {OUT}")
