"""OpenBenefits: the system of record for benefits, contingents and loyalty programs."""
