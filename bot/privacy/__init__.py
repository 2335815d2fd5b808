"""Consents and personal-data rights (RGPD): what each person agreed to, and when."""
