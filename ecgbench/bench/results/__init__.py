"""What a run writes: the run document, its schema, rows, fingerprint, the atomic writer."""
