/* netregistry embed: a network's member list rendered into a partner's page from the
   public API. No dependencies. Usage:
   <script src="https://registry.example.org/embed.js" data-network="citynet"
           data-lang="ko" data-category="full" async></script>
   Optional: data-country, data-kind, data-as-of, data-q. Styled by CSS custom
   properties on any ancestor: --netregistry-font, --netregistry-color,
   --netregistry-accent, --netregistry-border, --netregistry-header-bg. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var labels = {
    en: { members: "Members", name: "Name", country: "Country", category: "Category",
          offices: "Offices", more: "All members", failed: "The member list could not be loaded." },
    ko: { members: "회원", name: "이름", country: "국가", category: "구분",
          offices: "직책", more: "전체 회원", failed: "회원 목록을 불러오지 못했습니다." }
  };
  var data = script.dataset;
  var lang = (data.lang || "en").split("-")[0].toLowerCase();
  var t = labels[lang] || labels.en;
  if (!labels[lang]) { lang = "en"; }
  var base = new URL(script.src, document.baseURI).origin;
  var slug = data.network || "";
  var params = new URLSearchParams();
  [["category", data.category], ["country", data.country], ["kind", data.kind],
   ["q", data.q], ["as_of", data.asOf]].forEach(function (pair) {
    if (pair[1]) { params.set(pair[0], pair[1]); }
  });
  params.set("limit", "1000");

  var box = document.createElement("div");
  box.className = "netregistry-members";
  box.setAttribute("lang", lang);
  box.style.fontFamily = "var(--netregistry-font, inherit)";
  box.style.color = "var(--netregistry-color, inherit)";
  script.parentNode.insertBefore(box, script.nextSibling);

  function cell(tag, text, header) {
    var element = document.createElement(tag);
    element.textContent = text;
    element.style.textAlign = "left";
    element.style.padding = "0.3em 0.5em";
    element.style.borderBottom = "1px solid var(--netregistry-border, #d0d0d0)";
    if (header) {
      element.setAttribute("scope", "col");
      element.style.background = "var(--netregistry-header-bg, #f4f6f8)";
    }
    return element;
  }

  function get(path) {
    return fetch(base + path, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    });
  }

  var path = "/v1/networks/" + encodeURIComponent(slug);
  Promise.all([get(path + "/members?" + params.toString()), get(path + "/roles?limit=1000")])
    .then(function (answers) {
      var names = {};
      answers[1].items.forEach(function (role) { names[role.slug] = role.name; });
      var table = document.createElement("table");
      table.style.borderCollapse = "collapse";
      table.style.width = "100%";
      var caption = document.createElement("caption");
      caption.textContent = t.members;
      caption.style.textAlign = "left";
      caption.style.fontWeight = "bold";
      table.appendChild(caption);
      var head = document.createElement("thead");
      var row = document.createElement("tr");
      [t.name, t.country, t.category, t.offices].forEach(function (label) {
        row.appendChild(cell("th", label, true));
      });
      head.appendChild(row);
      table.appendChild(head);
      var body = document.createElement("tbody");
      answers[0].items.forEach(function (item) {
        var line = document.createElement("tr");
        line.className = "netregistry-member";
        var name = cell("td", item.member.name);
        name.setAttribute("translate", "no");
        line.appendChild(name);
        line.appendChild(cell("td", item.member.country_code || ""));
        line.appendChild(cell("td", item.category));
        line.appendChild(cell("td", item.roles.map(function (held) {
          return names[held.role] || held.role;
        }).join(", ")));
        body.appendChild(line);
      });
      table.appendChild(body);
      box.appendChild(table);
      var link = document.createElement("a");
      link.href = base + "/networks/" + encodeURIComponent(slug) + (lang !== "en" ? "?lang=" + lang : "");
      link.textContent = t.more;
      link.style.color = "var(--netregistry-accent, #1f5f99)";
      box.appendChild(link);
    })
    .catch(function () {
      box.textContent = t.failed;
    });
})();
