"""Ways documents come in besides the upload mutation: ``archivist import``, the consumption
folder, and the duplicate check that all of them (and the mutation) share.

Every way in goes through :func:`archivist.core.documents.upload_document`, so a file meets
the same checks, limits, refusals and permissions whichever way it arrives.
"""
