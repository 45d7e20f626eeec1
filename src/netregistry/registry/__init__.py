"""The core below the nouns: rules, locks, resolvers, shared shapes and name folding that
networks, members, memberships, roles and tenures share. Each of those packages imports
what it needs from here, and none imports another's service or repository: what two of
them both need belongs in this package, written once.
"""
