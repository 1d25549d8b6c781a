// Starts GraphiQL against this app's /graphql, sending the CSRF cookie back as X-CSRFToken.
(function () {
  const token = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || '';
  const fetcher = GraphiQL.createFetcher({ url: '/graphql', headers: { 'X-CSRFToken': token } });
  const root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: '{\n  posts(page: 1, pageSize: 5) {\n    count\n    hasNext\n    items { id author body likeCount liked }\n  }\n  me { username }\n}\n',
  }));
})();
