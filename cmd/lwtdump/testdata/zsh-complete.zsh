# zsh -f zsh-complete.zsh FPATHDIR LINE...: completes each command line in
# an interactive zsh on a pseudo-terminal, with the completion functions of
# FPATHDIR loaded by compinit, and prints what completion offers at the end
# of each line: a line "== LINE", then the candidates, one per line.
zmodload zsh/zpty || exit 1
zpty z zsh -f -i
zpty -w z 'stty columns 300 rows 200'
zpty -w z "PROMPT='> '; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D"
# compadd records each candidate it is given, and adds none.
zpty -w z 'compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  local -a __hits; builtin compadd -A __hits "$@"; local ret=$?
  (( $#__hits )) || return $ret
  local h; for h in $__hits; do print -r -- "<HI""T>$h</HIT>"; done
  return 1
}'
# read until the output holds $1, or 10 s have passed
readUntil() {
  integer n=0
  while (( n++ < 200 )); do
    if zpty -r -t z chunk; then out+=$chunk; [[ $out == *$1* ]] && return; else sleep 0.05; fi
  done
}
integer i=0
out=""
zpty -w z "print -r -- '<REA''DY>'"
readUntil '<READY>'
for line in "${@[2,-1]}"; do
  (( i++ ))
  out=""
  zpty -w -n z "$line"$'\t'
  # completion is done once its candidates have come and nothing more comes
  integer n=0
  while (( n++ < 100 )); do
    if zpty -r -t z chunk; then out+=$chunk; else [[ $out == *'</HIT>'* ]] && break; sleep 0.05; fi
  done
  zpty -w -n z $'\C-u'
  zpty -w z "print -r -- '<DO''NE$i>'"
  readUntil "<DONE$i>"
  print -r -- "== $line"
  print -r -- "$out" | grep -o "<HIT>[^<]*</HIT>" | sed "s/<HIT>//;s/<\/HIT>//" | sort -u
done
zpty -d z
