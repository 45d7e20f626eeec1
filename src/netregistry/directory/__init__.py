"""The public directory: pages people look at (a network's page, the landing page, the
history as an SVG timeline, a map) and the embeddable member list, all built on the
server from the nouns' services, with no JavaScript framework and no external assets."""
