# scripts/packages.sh — sourced by scripts/setup.sh and scripts/cross_arm64.sh.
#
# install_missing WHO PKG...: installs, with apt-get (through sudo when not root), those of
# the Debian packages PKG... that are not installed (a name may carry an architecture,
# libfoo-dev:arm64, once dpkg knows that architecture). WHO names the caller in messages.
# Returns non-zero when something is missing and cannot be installed.
install_missing() {
    local who=$1 p missing=() sudo=()
    shift
    local native
    native=$(dpkg --print-architecture)
    for p in "$@"; do
        # "install ok installed" is the only state that means the package is usable. A name
        # without an architecture means this machine's (with arm64 added, libc6-dev is two
        # packages), or, for an architecture-independent package, the one there is.
        local q=$p st
        [[ $p == *:* ]] || q=$p:$native
        st=$(dpkg-query -W -f='${Status}' "$q" 2>/dev/null) ||
            st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
        [ "$st" = "install ok installed" ] || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then
        echo "$who: all $# Debian packages present"
        return 0
    fi
    echo "$who: installing ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null ||
            { echo "$who: not root and no sudo: install ${missing[*]} by hand" >&2; return 1; }
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q &&
        "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}
