// Package thirdparty holds no code of ours: its test checks that fyne/, the Fyne module
// go.mod's replace builds the kiosk with, is still the pristine release plus fyne.patch
// (scripts/update-fyne.sh makes it; docs/architecture.md says why it is carried).
package thirdparty
