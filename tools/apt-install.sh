# Sourced by the install scripts that take a tool from a Debian package.
# apt_install WHAT PACKAGE [APT-GET OPTION...]: installs PACKAGE with apt-get, as root or through
# sudo; exits 1 with a message naming WHAT when it cannot.
apt_install() {
  local what=$1 package=$2
  shift 2
  command -v apt-get >/dev/null || { echo "$what: not installed and apt-get is missing; install Debian's $package package (or $what) with this system's package manager" >&2; exit 1; }
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "$what: not installed, and installing it with apt-get needs root (or sudo)" >&2; exit 1; }
    sudo="sudo"
  fi
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" "$package" >/dev/null; }; then
    echo "$what: apt-get could not install the $package package" >&2
    exit 1
  fi
}
