# Types "$1" and Tab into a real interactive zsh whose $fpath starts with "$2" (compinit as
# users run it, so _iamdb is autoloaded from there) and prints every match zsh was given, one
# per line. compadd is wrapped to copy the matches to a file; the completion itself runs as
# usual.
#   zsh -f zsh_complete.zsh 'iamdb psql ' DIR
zmodload zsh/zpty || exit 2
out=$(mktemp) || exit 2
zpty z zsh -f -i
zpty -w z "fpath=(${(q)2} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "compadd() { builtin compadd -O __hits \"\$@\"; print -l -- \$__hits >> ${(q)out}; builtin compadd \"\$@\"; }"
zpty -w z "$1"$'\t'
zpty -w z $'\C-u'"print -n > ${(q)out}.done"
for i in {1..200}; do [[ -e $out.done ]] && break; sleep 0.05; done
zpty -d z
[[ -e $out.done ]] || { print -u2 "zsh did not finish completing"; exit 3; }
print -l -- ${(u)${(f)"$(<$out)"}}
rm -f $out $out.done
