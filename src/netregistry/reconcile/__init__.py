"""The W3C Reconciliation Service API (version 0.2, as OpenRefine speaks it): a reader
across nouns that matches names in a spreadsheet to the registry's members."""
