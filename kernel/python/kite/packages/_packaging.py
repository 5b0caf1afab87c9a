"""The `packaging` library, wherever it is: in kite's wasm build it is bundled in the stdlib zip
as `_kite_vendor.packaging` (a private name: a user's own `packaging` install wins), elsewhere
(plain CPython at site-build time, the native kernel) it is the environment's."""

try:
    from _kite_vendor.packaging import markers, requirements, specifiers, tags, utils, version
except ImportError:
    from packaging import markers, requirements, specifiers, tags, utils, version

Version = version.Version
InvalidVersion = version.InvalidVersion
SpecifierSet = specifiers.SpecifierSet
Requirement = requirements.Requirement
InvalidRequirement = requirements.InvalidRequirement
Marker = markers.Marker
Tag = tags.Tag
canonicalize_name = utils.canonicalize_name
parse_wheel_filename = utils.parse_wheel_filename
InvalidWheelFilename = utils.InvalidWheelFilename
