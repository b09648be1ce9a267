// cdktf's jest matchers (toHaveResourceWithProperties, ...) on the global expect.
const cdktf = require('cdktf');
cdktf.Testing.setupJest();
