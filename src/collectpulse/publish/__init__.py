"""``collectpulse publish``: events from a file or stdin, validated, to their topic and key."""
