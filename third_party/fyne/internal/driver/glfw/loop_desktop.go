//go:build !wasm && !test_web_driver

package glfw

import (
	"fmt"
	"sync"

	"fyne.io/fyne/v2"

	"github.com/go-gl/glfw/v3.3/glfw"
)

// canWaitEvents: the main loop may sleep in waitEvents when it has nothing to do.
const canWaitEvents = true

// glfwLive says whether GLFW is initialised, so wakeMain, which runs on any goroutine,
// posts no event before glfw.Init or after glfw.Terminate (GLFW forbids both).
var glfwLive struct {
	sync.RWMutex
	on bool
}

func (d *gLDriver) initGLFW() {
	err := glfw.Init()
	if err != nil {
		fyne.LogError("failed to initialise GLFW", err)
		return
	}
	glfwLive.Lock()
	glfwLive.on = true
	glfwLive.Unlock()

	initCursors()
}

func (d *gLDriver) pollEvents() {
	glfw.PollEvents() // This call blocks while window is being resized, which prevents freeDirtyTextures from being called
}

// waitEvents sleeps until GLFW has an event, handles it like pollEvents, and returns.
// wakeMain posts an empty event to end the sleep.
func (d *gLDriver) waitEvents() {
	glfw.WaitEvents()
}

// wakeMain makes a waitEvents on the main goroutine return, so that the main loop looks at
// its queue of functions, the animations and the dirty canvases again. Safe on any goroutine.
func wakeMain() {
	glfwLive.RLock()
	defer glfwLive.RUnlock()
	if !glfwLive.on {
		return
	}

	defer func() {
		// go-gl/glfw hands GLFW errors to one channel for all threads: the check after
		// PostEmptyEvent may pick up an error raised on the main thread and panic with it.
		if r := recover(); r != nil {
			fyne.LogError("failed to wake the main loop", fmt.Errorf("%v", r))
		}
	}()
	glfw.PostEmptyEvent()
}

func (d *gLDriver) Terminate() {
	glfwLive.Lock()
	glfwLive.on = false
	glfwLive.Unlock()

	glfw.Terminate()
}
