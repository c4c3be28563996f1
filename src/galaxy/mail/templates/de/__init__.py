"""Mail templates (package data; a package so the wheel ships its *.j2 files)."""
