// Tells the server the browser's time zone (a cookie read by project.timezones), so that the
// admin shows dates in the viewer's time, from the next page on.
(function () {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone || document.cookie.split("; ").includes("viewer_tz=" + zone)) return;
  const secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = "viewer_tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax" + secure;
})();
