# SPDX-License-Identifier: Apache-2.0
# Bash completion for ftsc(1), installed as bash-completion/completions/ftsc.
#
# Nothing about the command line is written down here: the verbs, subverbs,
# options and their choices come from `ftsc ... --help`, syscall names from
# `ftsc policy syscalls`, %groups from `ftsc policy groups` and errnos from
# `ftsc policy errnos` (the knowledge base built into the binary), asked of the
# ftsc being completed once per shell. Only what kind of value an option takes
# (a file, a directory, a rule) is known here. Plain bash and compgen: the
# bash-completion package is not needed. The functions run in the shell that
# completes (no $(...) around them), so that what they learn is kept.

declare -gA _ftsc_cache

# _ftsc_load FTSC [VERB...]: learns the subcommands and options that
# `FTSC VERB... --help` lists (CLI11's help: an option's names, its value's
# type after one space, its text after two; choices as TYPE:{a,b,c}). Keeps
# "subs KEY" (one name a line) and "opts KEY" (lines "NAME KIND", KIND being
# flag, value or choice:a,b,c).
_ftsc_load() {
  local key="$*"
  [[ -n ${_ftsc_cache["opts $key"]+set} ]] && return 0
  local help line spec names type kind name section="" subs="" opts=""
  help=$("$@" --help 2>/dev/null)
  while IFS= read -r line; do
    case $line in
      Subcommands:) section=subs; continue ;;
      Options:) section=opts; continue ;;
      "") section=""; continue ;;
    esac
    if [[ $section == subs && $line == "  "[a-z]* ]]; then
      line=${line#  }
      subs+="${line%%[[:space:]]*}"$'\n'
    elif [[ $section == opts && $line == "  -"* ]]; then
      spec=${line#  }
      spec=${spec%%  *}
      names=${spec%% *}
      type=""
      [[ $spec == *" "* ]] && type=${spec#* }
      kind=flag
      if [[ $type == *:\{*\}* ]]; then
        kind=${type#*:\{}
        kind="choice:${kind%%\}*}"
      elif [[ -n $type ]]; then
        kind=value
      fi
      while [[ -n $names ]]; do
        name=${names%%,*}
        opts+="$name $kind"$'\n'
        [[ $names == *,* ]] && names=${names#*,} || names=""
      done
    fi
  done <<<"$help"
  _ftsc_cache["subs $key"]=$subs
  _ftsc_cache["opts $key"]=$opts
}

# _ftsc_load_names FTSC WHAT: keeps "WHAT FTSC", the first column of
# `FTSC policy WHAT` (syscalls, groups, errnos) without its comment lines.
_ftsc_load_names() {
  local key="$2 $1" line names=""
  [[ -n ${_ftsc_cache[$key]+set} ]] && return 0
  while read -r line; do
    [[ -z $line || $line == \#* ]] && continue
    names+="${line%%[[:space:]]*}"$'\n'
  done < <("$1" policy "$2" 2>/dev/null)
  _ftsc_cache[$key]=$names
}

# _ftsc_kind_of OPTION OPTIONS: sets kind to OPTION's (flag, value,
# choice:...), or to "" when OPTIONS does not hold it.
_ftsc_kind_of() {
  local name k
  kind=""
  while read -r name k; do
    if [[ $name == "$1" ]]; then
      kind=$k
      return 0
    fi
  done <<<"$2"
}

# _ftsc_add_names FTSC WHAT... -- PREFIX VALUE: adds to candidates, for the
# last item of the comma-separated list VALUE, each name of WHAT that starts
# with it, after PREFIX and the list's earlier items.
_ftsc_add_names() {
  local ftsc=$1
  local -a what=()
  shift
  while [[ $1 != -- ]]; do what+=("$1"); shift; done
  local prefix=$2 value=$3 head="" item w name
  [[ $value == *,* ]] && head="${value%,*},"
  item=${value##*,}
  for w in "${what[@]}"; do
    _ftsc_load_names "$ftsc" "$w"
    while read -r name; do
      [[ -n $name && $name == "$item"* ]] && candidates+=("$prefix$head$name")
    done <<<"${_ftsc_cache["$w $ftsc"]}"
  done
}

# _ftsc_add_compgen ACTION WORD: adds what `compgen -A ACTION WORD` finds.
_ftsc_add_compgen() {
  local -a found
  mapfile -t found < <(compgen -A "$1" -- "$2")
  candidates+=("${found[@]}")
}

# _ftsc_add_value FTSC OPTION KIND VALUE: adds the candidates for OPTION's
# VALUE (whole values; the caller keeps those that start with VALUE). Sets
# files when they are file names.
_ftsc_add_value() {
  local ftsc=$1 option=$2 kind=$3 value=$4
  case $option in
    --policy | --stats | --metrics | -o | --output | --report | --from-audit | --module)
      _ftsc_add_compgen file "$value"
      files=1 ;;
    --compare)
      _ftsc_add_compgen file "$value"
      files=1 ;;
    --cgroup | --workdir)
      _ftsc_add_compgen directory "$value"
      files=1 ;;
    --syscalls)  # SYSCALL[,SYSCALL...]
      _ftsc_add_names "$ftsc" syscalls -- "" "$value" ;;
    --errnos)  # ERRNO[,ERRNO...]
      _ftsc_add_names "$ftsc" errnos -- "" "$value" ;;
    --retry)  # SYSCALL[,SYSCALL...]=ERRNO[,ERRNO...]
      if [[ $value == *=* ]]; then
        _ftsc_add_names "$ftsc" errnos -- "${value%%=*}=" "${value#*=}"
      else
        _ftsc_add_names "$ftsc" syscalls groups -- "" "$value"
      fi ;;
    --inject)  # SYSCALL[,SYSCALL...]:error=ERRNO[:when=EXPR][:p=P][:seed=N]
      if [[ $value != *:* ]]; then
        _ftsc_add_names "$ftsc" syscalls groups -- "" "$value"
      elif [[ ${value##*:} == error=* ]]; then
        local last=${value##*:}
        _ftsc_add_names "$ftsc" errnos -- "${value%:*}:error=" "${last#error=}"
      else
        local key
        for key in error= when= p= seed=; do candidates+=("${value%:*}:$key"); done
      fi ;;
    *)
      if [[ $kind == choice:* ]]; then
        local choices=${kind#choice:}
        while [[ -n $choices ]]; do
          candidates+=("${choices%%,*}")
          [[ $choices == *,* ]] && choices=${choices#*,} || choices=""
        done
      fi ;;
  esac
}

# _ftsc_add_operand FTSC N VALUE VERB...: adds the candidates for the Nth
# (from 0) operand of the verb.
_ftsc_add_operand() {
  local ftsc=$1 n=$2 value=$3
  shift 3
  case "$*:$n" in
    "policy explain:1") _ftsc_add_names "$ftsc" syscalls -- "" "$value" ;;
    "policy explain:2") _ftsc_add_names "$ftsc" errnos -- "" "$value" ;;
    "policy groups:0") _ftsc_add_names "$ftsc" groups -- "" "$value" ;;
    "policy check:0" | "policy show:0" | "policy explain:0" | "policy import:0" | \
      "policy export:0" | "policy compile:0" | "policy suggest:0" | "kmod load:0")
      _ftsc_add_compgen file "$value"
      files=1 ;;
  esac
}

_ftsc() {
  local ftsc=${COMP_WORDS[0]/#\~/$HOME}
  [[ -x $ftsc ]] || ftsc=$(type -P "$ftsc") || return 0
  # The words of the line up to the cursor, split at blanks only: bash also
  # splits COMP_WORDS at '=' and ':', which --retry and --inject values hold.
  local line=${COMP_LINE:0:COMP_POINT} cur="" quoted=""
  local -a words
  read -r -a words <<<"$line"
  if [[ -n $line && $line != *[[:space:]] ]]; then
    cur=${words[-1]}
    unset 'words[-1]'
  fi
  if [[ $cur == [\'\"]* ]]; then
    quoted=1
    cur=${cur:1}
  fi

  # The verb (run, policy check, ...), the operands so far, and where the
  # command of `run`, `profile` or `campaign` begins (after `--`).
  local -a verb=()
  local w kind key operands=0 dashdash=-1 i
  _ftsc_load "$ftsc"
  key=$ftsc
  for ((i = 1; i < ${#words[@]}; i++)); do
    w=${words[i]}
    if [[ $w == -- ]]; then
      dashdash=$i
      break
    elif [[ $w == -* ]]; then
      if [[ $w != *=* ]]; then
        _ftsc_kind_of "$w" "${_ftsc_cache["opts $key"]}"
        [[ $kind == value || $kind == choice:* ]] && ((i++))
      fi
    elif [[ $'\n'${_ftsc_cache["subs $key"]} == *$'\n'"$w"$'\n'* ]]; then
      verb+=("$w")
      _ftsc_load "$ftsc" "${verb[@]}"
      key="$ftsc ${verb[*]}"
    else
      ((operands++))
    fi
  done
  local options=${_ftsc_cache["opts $key"]} subs=${_ftsc_cache["subs $key"]}

  local -a candidates=()
  local prefix="" files=""
  if ((dashdash >= 0)); then
    if ((${#words[@]} - dashdash == 1)); then
      _ftsc_add_compgen command "$cur"
    else
      _ftsc_add_compgen file "$cur"
      files=1
    fi
  else
    local prev=""
    ((${#words[@]} > 1)) && prev=${words[-1]}
    kind=""
    [[ $prev == -* && $prev != *=* ]] && _ftsc_kind_of "$prev" "$options"
    if [[ $kind == value || $kind == choice:* ]]; then
      _ftsc_add_value "$ftsc" "$prev" "$kind" "$cur"
    elif [[ $cur == --*=* ]]; then
      _ftsc_kind_of "${cur%%=*}" "$options"
      prefix="${cur%%=*}="
      _ftsc_add_value "$ftsc" "${cur%%=*}" "$kind" "${cur#*=}"
    elif [[ $cur == -* ]]; then
      while read -r w kind; do [[ -n $w ]] && candidates+=("$w"); done <<<"$options"
      [[ ${verb[*]} == run || ${verb[*]} == profile || ${verb[*]} == campaign ]] &&
        candidates+=(--)
    elif [[ -n $subs ]]; then
      while read -r w; do [[ -n $w ]] && candidates+=("$w"); done <<<"$subs"
    else
      _ftsc_add_operand "$ftsc" "$operands" "$cur" "${verb[@]}"
    fi
  fi

  # Keep what starts with the word, and drop the part bash does not replace:
  # it completes only the text after the last '=' or ':' of COMP_WORDBREAKS.
  local keep="" c
  if [[ -z $quoted ]]; then
    for ((i = ${#cur} - 1; i >= 0; i--)); do
      c=${cur:i:1}
      if [[ ($c == = || $c == :) && $COMP_WORDBREAKS == *"$c"* ]]; then
        keep=${cur:0:i+1}
        break
      fi
    done
  fi
  COMPREPLY=()
  for c in "${candidates[@]}"; do
    [[ -n $c ]] || continue
    c=$prefix$c
    [[ $c == "$cur"* ]] && COMPREPLY+=("${c:${#keep}}")
  done
  [[ -n $files ]] && compopt -o filenames 2>/dev/null
  return 0
}

complete -F _ftsc ftsc
