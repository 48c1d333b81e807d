"""The appliance's Django admin (the catalogue of installed skills)."""
