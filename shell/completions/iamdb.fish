complete --keep-order --exclusive --command iamdb --arguments "(_IAMDB_COMPLETE=fish iamdb -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
