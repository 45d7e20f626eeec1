"""Writers that span the nouns: a network's member list read from a spreadsheet, which
finds or creates cities and writes memberships, each through its noun's service."""
