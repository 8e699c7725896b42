//go:build !unix

package contactseal

import (
	"io/fs"
	"os"
)

// keepOwner does nothing where files have no Unix owner: the package is shared with the
// Windows kiosk, which seals and never keeps a key file.
func keepOwner(*os.File, fs.FileInfo) error { return nil }
