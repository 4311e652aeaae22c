"""Published JSON Schemas of dataward outputs (report.schema.json, finding.schema.json)."""
