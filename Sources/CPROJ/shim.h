// PROJ's C API (libproj-dev on Debian/Ubuntu, `brew install proj` on macOS).
#include <proj.h>
