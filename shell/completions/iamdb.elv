set edit:completion:arg-completer[iamdb] = { |@words|
    var index = (count $words)
    set index = (- $index 1)

    put (env _CLAP_IFS="\n" _CLAP_COMPLETE_INDEX=(to-string $index) _IAMDB_COMPLETE="elvish" iamdb -- $@words) | to-lines
}
