"""What may leave the machine: local-only documents, and masking of personal data for the cloud."""
