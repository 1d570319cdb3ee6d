// Loaded between RequireJS and the ipywidgets embed manager (nb_ipywidgets_js in _config.yml).
(function () {
  // 1. The manager finds its fonts next to its own module URL, which RequireJS otherwise puts relative to the page
  //    (book/@jupyter-widgets/...): point that module at the copy served from _static/vendor/.
  var self = document.currentScript && document.currentScript.src;
  var base = self ? self.replace(/[^/]*(\?.*)?$/, "") : "_static/";
  require.config({paths: {"@jupyter-widgets/html-manager/dist": base + "vendor/html-manager"}});

  // 2. The manager typesets widget labels with MathJax 2's MathJax.Hub.Queue; the book loads MathJax 3, which has
  //    no Hub (TypeError in the console, labels not drawn). Give MathJax 3 a Hub.Queue that calls typesetPromise.
  function install() {
    var mj = window.MathJax;
    if (!mj || !mj.version || mj.Hub) return;
    mj.Hub = {
      Queue: function (job) {
        var el = job && job[2];
        var run = function () { return mj.typesetPromise ? mj.typesetPromise(el ? [el] : undefined) : null; };
        Promise.resolve(mj.startup && mj.startup.promise).then(run).catch(function () {});
      }
    };
  }
  install();
  document.addEventListener("DOMContentLoaded", install);
})();
