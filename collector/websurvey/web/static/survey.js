// The web survey's one script: it only makes the pages quicker to use. Without it
// every page works with plain form posts.
(function () {
  "use strict";

  // A tap on a score sends it at once (the Send button is still there for keyboards:
  // an arrow key moves between scores without sending).
  var scoreForm = document.getElementById("score-form");
  if (scoreForm) {
    var pointer = false;
    scoreForm.addEventListener("pointerdown", function () { pointer = true; });
    scoreForm.addEventListener("keydown", function () { pointer = false; });
    scoreForm.addEventListener("change", function (e) {
      if (pointer && e.target && e.target.name === "score") {
        if (scoreForm.requestSubmit) {
          scoreForm.requestSubmit();
        } else {
          scoreForm.submit();
        }
      }
    });
  }

  // A double tap posts a form once.
  var forms = document.querySelectorAll("form");
  Array.prototype.forEach.call(forms, function (f) {
    f.addEventListener("submit", function (e) {
      if (f.getAttribute("data-sent")) {
        e.preventDefault();
        return;
      }
      f.setAttribute("data-sent", "1");
    });
  });
  // Coming back to a page (the back button) lets its form post again.
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(forms, function (f) { f.removeAttribute("data-sent"); });
  });

  // The contact field shows once the shopper agrees to be contacted.
  var consent = document.getElementById("consent");
  var contact = document.getElementById("contact-field");
  if (consent && contact) {
    var sync = function () { contact.hidden = !consent.checked && !document.getElementById("contact").value; };
    consent.addEventListener("change", sync);
    sync();
  }
})();
