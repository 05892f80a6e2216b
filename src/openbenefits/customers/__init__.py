"""Studio customers: identity, access mediums, access restriction and their lookups."""
