#!/usr/bin/env bash
# The container image's build, on a machine without a container engine: runs the Dockerfile's
# steps here, so that what the image does is tried on every change to it.
#  1. the builder stage's RUN lines, read from the Dockerfile (the two cannot drift apart), each
#     as `sh -c` in the repository: the builder's first WORKDIR is the repository root;
#  2. the runtime stage's files laid out under target/image-root/ from its `COPY --from=builder`
#     lines (the binary at target/image-root/usr/local/bin/rcload), its WORKDIR made;
#  3. `ldd`: the binary needs only libraries the distroless cc image has (glibc's libc, libm,
#     libdl, libpthread, librt, the loader, and libgcc_s);
#  4. the binary run as the runtime stage's USER (65532, nonroot; with setpriv when this script
#     runs as root) with `--version` and `validate smoke`, from an empty working directory
#     as /runs is.
# Prints each step and how long the build took; exits non-zero at the first step that fails.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
dockerfile=$repo/Dockerfile
root=$repo/target/image-root

step() { echo "== image-steps: $*"; }
die() { echo "image-steps: $*" >&2; exit 1; }

# The Dockerfile as logical lines, one per instruction: comment lines dropped (also inside a
# continuation, as Docker does), continuations joined.
instructions() {
  local line acc=""
  while IFS= read -r line || [ -n "$line" ]; do
    [[ $line =~ ^[[:space:]]*# ]] && continue
    [[ -n $acc && $line =~ ^[[:space:]]*$ ]] && continue
    if [[ $line =~ \\[[:space:]]*$ ]]; then
      acc+="$(sed 's/\\[[:space:]]*$//' <<< "$line") "
      continue
    fi
    acc+=$line
    [[ $acc =~ ^[[:space:]]*$ ]] || printf '%s\n' "$acc"
    acc=""
  done < "$dockerfile"
  [ -z "$acc" ] || printf '%s\n' "$acc"
}

# Split into the builder stage (the one named `builder`) and the runtime stage (the last).
builder=() runtime=() stage=""
while IFS= read -r line; do
  read -r word rest <<< "$line"
  if [ "${word^^}" = FROM ]; then
    if [[ ${rest,,} =~ [[:space:]]as[[:space:]]+builder$ ]]; then
      stage=builder builder=("$line")
    else
      stage=other runtime=("$line")
    fi
  elif [ "$stage" = builder ]; then
    builder+=("$line")
  elif [ "$stage" = other ]; then
    runtime+=("$line")
  fi
done < <(instructions)
[ "${#builder[@]}" -gt 0 ] || die "no stage named builder in $dockerfile"
[ "$stage" = other ] || die "the last stage of $dockerfile (the runtime) must come after the builder"

# 1. The builder's steps. Its first WORKDIR is the repository root; a later one is a directory
#    under it (absolute under the first, or relative).
step "builder: ${builder[0]}"
workdir="" here=$repo
build_start=$SECONDS
for line in "${builder[@]:1}"; do
  read -r word rest <<< "$line"
  case ${word^^} in
    WORKDIR)
      if [ -z "$workdir" ]; then
        workdir=${rest%/}; here=$repo
      elif [[ $rest == /* ]]; then
        [[ $rest == "$workdir" || $rest == "$workdir"/* ]] \
          || die "WORKDIR $rest is outside the builder's first WORKDIR $workdir (the repository)"
        here=$repo${rest#"$workdir"}
      else
        here=$here/$rest
      fi
      mkdir -p "$here"
      rel=${here#"$repo"}
      step "WORKDIR $rest (here: the repository${rel:+, $rel})"
      ;;
    COPY)
      # The build context is the repository itself: only `COPY . <the WORKDIR>` has nothing to do.
      read -r src dst extra <<< "$rest"
      [ "$src" = . ] && { [ "$dst" = . ] || [ "$dst" = ./ ] || [ "${dst%/}" = "$workdir" ]; } \
        && [ -z "$extra" ] && [ "$here" = "$repo" ] \
        || die "builder: 'COPY $rest' is not the whole context into the WORKDIR; teach this script"
      step "COPY $rest (the repository is the context: nothing to copy)"
      ;;
    RUN)
      [[ $rest == --* || $rest == \[* ]] \
        && die "builder: 'RUN $rest': only plain shell-form RUN lines (no flags, no exec form)"
      step "RUN $rest"
      run_start=$SECONDS
      (cd "$here" && sh -c "$rest") || die "builder step failed: RUN $rest"
      echo "   took $((SECONDS - run_start)) s"
      ;;
    ENV)
      # `ENV NAME=value ...` (one or more) or the old `ENV NAME value`.
      if [[ $rest == *=* ]]; then eval "export $rest"; else read -r k v <<< "$rest"; export "$k=$v"; fi
      step "ENV $rest"
      ;;
    ARG)
      [[ $rest == *=* ]] && eval "export $rest"
      step "ARG $rest"
      ;;
    LABEL) ;;
    *) die "builder: instruction '$word' is not known to this script; teach it" ;;
  esac
done
[ -n "$workdir" ] || die "the builder stage has no WORKDIR: its paths cannot be mapped to the repository"
build_s=$((SECONDS - build_start))
step "the build took ${build_s} s"

# 2. The runtime stage's files under target/image-root/.
step "runtime: ${runtime[0]}"
rm -rf "$root"
mkdir -p "$root"
user="" entrypoint="" cmd="" image_workdir=/
for line in "${runtime[@]:1}"; do
  read -r word rest <<< "$line"
  case ${word^^} in
    COPY)
      chown_to=""
      from=""
      args=()
      for a in $rest; do
        case $a in
          --from=*) from=${a#--from=} ;;
          --chown=*) chown_to=${a#--chown=} ;;
          --*) die "runtime: 'COPY $rest': flag $a not known to this script" ;;
          *) args+=("$a") ;;
        esac
      done
      [ "$from" = builder ] && [ "${#args[@]}" -eq 2 ] \
        || die "runtime: 'COPY $rest': only 'COPY --from=builder SRC DEST' is laid out here"
      src=${args[0]} dst=${args[1]}
      [[ $src == "$workdir"/* ]] || die "runtime: COPY source $src is not under the builder's WORKDIR $workdir"
      host_src=$repo${src#"$workdir"}
      [ -e "$host_src" ] || die "runtime: COPY source $src ($host_src) does not exist after the build"
      if [ -d "$host_src" ]; then
        mkdir -p "$root$dst"
        cp -a "$host_src/." "$root$dst/"
      elif [[ $dst == */ ]]; then
        mkdir -p "$root$dst"
        cp -a "$host_src" "$root$dst"
      else
        mkdir -p "$(dirname "$root$dst")"
        cp -a "$host_src" "$root$dst"
      fi
      if [ -n "$chown_to" ]; then
        if [ "$(id -u)" -eq 0 ]; then chown -R "$chown_to" "$root$dst"; else echo "   (not root: --chown=$chown_to not applied)"; fi
      fi
      step "COPY $src -> target/image-root$dst"
      ;;
    USER) user=$rest; step "USER $rest" ;;
    WORKDIR) image_workdir=$rest; mkdir -p "$root$rest"; step "WORKDIR $rest" ;;
    ENTRYPOINT) entrypoint=$rest; step "ENTRYPOINT $rest" ;;
    CMD) cmd=$rest; step "CMD $rest" ;;
    ENV | LABEL | EXPOSE) step "$word $rest (no file to lay out)" ;;
    *) die "runtime: instruction '$word' is not known to this script; teach it" ;;
  esac
done

# The entrypoint's program, from the exec form ["/usr/local/bin/rcload"].
[[ $entrypoint =~ ^\[[[:space:]]*\"([^\"]+)\" ]] || die "runtime: ENTRYPOINT is not in exec form: $entrypoint"
program=${BASH_REMATCH[1]}
bin=$root$program
[ -x "$bin" ] || die "the entrypoint $program is not an executable under target/image-root"
step "entrypoint target/image-root$program ($(du -h "$bin" | cut -f1)), default CMD $cmd"

# 3. Libraries: only what gcr.io/distroless/cc-debian12 holds.
step "ldd target/image-root$program"
ldd_out=$(ldd "$bin" 2>&1) || true
echo "$ldd_out" | sed 's/^/   /'
if grep -q "not a dynamic executable\|statically linked" <<< "$ldd_out"; then
  echo "   statically linked: needs no library"
else
  bad=""
  while read -r first _; do
    [ -n "$first" ] || continue
    lib=$(basename "$first")
    case $lib in
      linux-vdso.so.* | linux-gate.so.* | ld-linux*.so.* | libc.so.6 | libm.so.6 | libdl.so.2 | \
        libpthread.so.0 | librt.so.1 | libgcc_s.so.1) ;;
      *) bad+=" $lib" ;;
    esac
  done <<< "$ldd_out"
  grep -q "not found" <<< "$ldd_out" && bad+=" (a library not found)"
  [ -z "$bad" ] || die "the binary needs libraries the distroless cc image does not have:$bad"
  echo "   every library is in the distroless cc image"
fi
# The newest glibc symbol version it needs, against debian12's glibc 2.36: a build on a newer
# host would differ from the image's (built on bookworm), so this only warns.
newest=$(objdump -T "$bin" 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sort -uV | tail -1 || true)
if [ -n "$newest" ]; then
  echo "   newest glibc symbol needed: $newest (debian12 has 2.36)"
  if [ "$(printf '%s\n' "${newest#GLIBC_}" 2.36 | sort -V | tail -1)" != 2.36 ]; then
    echo "   warning: this host's build needs a newer glibc than the image's; the image builds on bookworm"
  fi
fi

# 4. Run it as the image's user, from an empty directory as the image's WORKDIR is.
uid=${user%%:*} gid=${user#*:}
[ "$gid" != "$user" ] || gid=$uid
[ "$uid" = nonroot ] && uid=65532
[ "$gid" = nonroot ] && gid=65532
[[ $uid =~ ^[0-9]+$ && $gid =~ ^[0-9]+$ ]] || die "runtime: USER '$user' is not numeric or nonroot"
[ "$uid" -ne 0 ] || die "runtime: USER is root"
tmp=$(mktemp -d /tmp/rcload-image-steps.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
mkdir -p "$tmp/runs"
as_user=()
if [ "$(id -u)" -eq 0 ]; then
  command -v setpriv >/dev/null || die "setpriv (util-linux) is missing"
  chown "$uid:$gid" "$tmp/runs"
  as_user=(setpriv --reuid="$uid" --regid="$gid" --clear-groups)
  who="uid $uid, gid $gid (setpriv)"
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null && command -v setpriv >/dev/null; then
  sudo -n chown "$uid:$gid" "$tmp/runs"
  as_user=(sudo -n setpriv --reuid="$uid" --regid="$gid" --clear-groups)
  who="uid $uid, gid $gid (sudo setpriv)"
else
  chmod 777 "$tmp/runs"
  who="uid $(id -u): not root and no sudo, so not as $uid"
fi
# From target/image-root when that user can reach it; else (the repository under a directory
# other users cannot enter) from a copy in a directory of its own.
run_bin=$bin
if ! "${as_user[@]}" test -x "$bin" 2>/dev/null; then
  mkdir -p "$tmp/bin"
  cp "$bin" "$tmp/bin/rcload"
  chmod 755 "$tmp/bin" "$tmp/bin/rcload"
  run_bin=$tmp/bin/rcload
  echo "   (the repository is not reachable as $who: running a copy, $run_bin)"
fi
for args in "--version" "validate smoke"; do
  step "as $who, in an empty directory as ${image_workdir}: rcload $args"
  # shellcheck disable=SC2086 # the words of $args are the arguments
  (cd "$tmp/runs" && "${as_user[@]}" env HOME="$tmp/runs" "$run_bin" $args) \
    || die "rcload $args failed as $who"
done
step "done: the build took ${build_s} s; the image's files are in target/image-root/"
