// Package cleanlocale replaces a C or POSIX locale in the environment with en_US.UTF-8
// before Fyne reads it. Fyne parses the locale in a package init and logs an error for
// "C"; the kiosk's languages come from its survey, not the system, so English is right.
//
// Import it for its side effect from a main package. Go initialises packages in import
// path order once their imports are ready; this one needs only os, which Fyne's
// language package also waits on, so this runs first.
package cleanlocale

import (
	"os"
	"strings"
)

func init() {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		l, set := os.LookupEnv(v)
		if !set || (l == "" && v != "LANG") {
			continue
		}
		if l == "" || l == "C" || l == "POSIX" || strings.HasPrefix(l, "C.") {
			os.Setenv(v, "en_US.UTF-8")
		}
	}
}
