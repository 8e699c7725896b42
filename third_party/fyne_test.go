package thirdparty

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestFyneIsPristinePlusPatch regenerates the carried Fyne module from the pristine
// release and fyne.patch into a temporary directory and fails if the patch no longer
// applies, or if fyne/ differs from the result by a file: an edit straight into fyne/
// would otherwise be lost, silently, by the next scripts/update-fyne.sh.
func TestFyneIsPristinePlusPatch(t *testing.T) {
	if _, err := exec.LookPath("patch"); err != nil {
		t.Skip("patch is not installed")
	}
	// The pristine release comes from the module cache or the proxy: without either there
	// is nothing to compare with.
	version, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "fyne.io/fyne/v2").Output()
	if err != nil {
		t.Fatalf("read Fyne's version from go.mod: %v", err)
	}
	download := exec.Command("go", "mod", "download", "fyne.io/fyne/v2@"+string(bytes.TrimSpace(version)))
	download.Dir = os.TempDir() // outside the module, where the replace does not apply
	download.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := download.CombinedOutput(); err != nil {
		t.Skipf("pristine Fyne module unavailable (offline?): %v\n%s", err, out)
	}

	fresh := filepath.Join(t.TempDir(), "fyne")
	update := exec.Command("bash", "../scripts/update-fyne.sh")
	update.Env = append(os.Environ(), "DEST="+fresh)
	if out, err := update.CombinedOutput(); err != nil {
		t.Fatalf("scripts/update-fyne.sh: %v\n%s", err, out)
	}

	want, got := files(t, fresh), files(t, "fyne")
	for name, data := range want {
		have, ok := got[name]
		switch {
		case !ok:
			t.Errorf("third_party/fyne/%s is missing", name)
		case !bytes.Equal(have, data):
			t.Errorf("third_party/fyne/%s differs from pristine + fyne.patch", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("third_party/fyne/%s is not in pristine + fyne.patch", name)
		}
	}
	if t.Failed() {
		t.Log("put the change into third_party/fyne.patch and run scripts/update-fyne.sh")
	}
}

// files reads every regular file under root, by slash-separated relative path.
func files(t *testing.T, root string) map[string][]byte {
	t.Helper()
	all := map[string][]byte{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		all[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", root, err)
	}
	return all
}
