# shellcheck shell=bash
# Helpers of the broker scripts in this folder (add-hatchling.sh, add-hub.sh, make-ca.sh), which
# source this file from beside themselves: `. "$here/common.sh"`. Not a script of its own.

# The password goes to mosquitto_passwd on its standard input, never on its command line (any
# local user can read another's /proc/PID/cmdline). Its prompts are dropped.
passwd_set() { # passwd_set [-c] FILE USER PASSWORD
  local create=()
  if [ "$1" = -c ]; then create=(-c); shift; fi
  printf '%s\n%s\n' "$3" "$3" | mosquitto_passwd "${create[@]}" "$1" "$2" > /dev/null
}

# Whether git ignores the paths given: one line for those it ignores, a warning on standard error
# for each one inside a work tree that it does not (`git add .` would commit that secret). Silent
# outside a work tree, or when git cannot tell (no git, a repository owned by another user).
git_note() {
  command -v git >/dev/null || return 0
  local path dir top ignored=""
  for path in "$@"; do
    dir="$(dirname "$path")"
    top="$(git -C "$dir" rev-parse --show-toplevel 2>/dev/null)" || continue
    if git -C "$dir" check-ignore -q -- "$path" 2>/dev/null; then
      ignored="${ignored:+$ignored, }$path"
    else
      echo "$(basename "$0" .sh): WARNING: $path is inside the git work tree $top and NOT ignored: add it to .gitignore before any commit" >&2
    fi
  done
  if [ -n "$ignored" ]; then echo "git ignores $ignored (.gitignore): never commit them"; fi
}
