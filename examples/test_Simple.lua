-- One page: the demo target's home page. The engine fetches its images, CSS and
-- scripts like a browser (once per virtual user) and counts them as part of the page.
function test_Simple(vu)
  local base = conf_get("main", "url")
  local home = vu:get(base .. "/", {description = "Home page"})
  assert(home.status == 200, "the home page answered " .. home.status)
  assert(home:contains("Demo shop"), "the home page does not look like the demo shop")
end
