-- A customer's visit to the demo shop. Every explicit request is a page; redirects and
-- the page's images, CSS and scripts are part of it.

-- Each virtual user logs in as its own account; node_num keeps nodes apart.
local function account(vu)
  local n = vu.node_num * 1000 + vu.id
  return "user" .. n, "pass" .. n
end

function test_Shop(vu)
  local base = conf_get("main", "url")
  local items = conf_get_list("shop", "items")
  local quantity = conf_get_number("shop", "quantity", 1)

  vu:get(base .. "/", {description = "Home"})

  local form = vu:get(base .. "/login", {description = "Login form"})
  local token = form:extract('name="token" value="', '"')
  assert(token, "the login form has no token")

  local user, password = account(vu)
  local welcome = vu:post(base .. "/login", {
    description = "Log in",
    params = {{"user", user}, {"password", password}, {"token", token}},
  })
  assert(welcome.redirects == 1, "logging in should redirect once to the account page")
  assert(welcome:contains("Welcome " .. user), "not logged in as " .. user)
  assert(vu:cookie("session"), "no session cookie after login")

  local item = items[(vu.id % #items) + 1]
  local cart = vu:post(base .. "/cart/add", {
    description = "Add to cart",
    params = {item = item, qty = quantity},
  })
  assert(cart:contains("Added " .. quantity .. " x " .. item), "the cart did not take the item")

  vu:get(base .. "/logout", {description = "Log out"})
end
