// The fingerprint note of a plugin library (see plugin_library.h). This target has no functions:
// linking it into a library is what puts the note there.
#ifndef PLUGINSANDBOX_PLUGIN_LIBRARY_NOTE_H
#define PLUGINSANDBOX_PLUGIN_LIBRARY_NOTE_H
#endif
