// Loaded between RequireJS and the ipywidgets embed manager (nb_ipywidgets_js in _config.yml).
(function () {
  // 1. The manager's modules find their fonts next to their own module URLs, which RequireJS otherwise puts
  //    relative to the page (book/@jupyter-widgets/...): map every module it defines to _static/vendor/.
  var self = document.currentScript && document.currentScript.src;
  var dir = (self ? self.replace(/[^/]*(\?.*)?$/, "") : "_static/") + "vendor/html-manager";
  var paths = {"@jupyter-widgets/html-manager/dist": dir};
  ["base", "base7", "controls", "controls7", "html-manager"].forEach(function (m) {
    paths["@jupyter-widgets/" + m] = dir + "/" + m;
  });
  require.config({paths: paths});

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
